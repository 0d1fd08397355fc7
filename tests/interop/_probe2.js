const { RedisServer } = require('./lib/redis');
const { DevLlm } = require('./lib/devllm');
const { Lingo } = require('./lib/lingo');
const { translationJob } = require('./lib/jobs');
(async () => {
  const redis = await RedisServer.start(); const llm = await DevLlm.start();
  const p = await require('./lib/bullq').open(redis, 'q1');
  const lingo = await Lingo.start({ redisUrl: redis.url, protocol: 'bull', queue: 'q1', llmUrl: llm.url });
  const t = Date.now();
  const jobs = await p.addBulk(Array.from({length: 1000}, (_, i) => ({data: translationJob('l' + i)})));
  const times = await Promise.all(jobs.map(j => p.finished(j).then(() => Date.now() - t)));
  const notes = (await p.events()).filter(e => e.event === 'completed').map(e => e.at - t);
  console.log('last note', Math.max(...notes), 'slow finished', times.filter(x => x > 3000).length, 'max', Math.max(...times));
  await Lingo.stopAll(); await p.close(); await llm.stop(); await redis.stop();
})();
