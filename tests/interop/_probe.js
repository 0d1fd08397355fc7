const { RedisServer, sleep } = require('./lib/redis');
const { DevLlm } = require('./lib/devllm');
const { Lingo } = require('./lib/lingo');
const { translationJob } = require('./lib/jobs');
(async () => {
  const protocol = process.argv[2];
  const redis = await RedisServer.start(); const llm = await DevLlm.start();
  const { open } = require(`./lib/${protocol}q`);
  const p = await open(redis, 'q1');
  let t = Date.now();
  const lingo = await Lingo.start({ redisUrl: redis.url, protocol, queue: 'q1', llmUrl: llm.url });
  console.log('lingo start ms', Date.now() - t);
  for (let k = 0; k < 4; k++) {
    t = Date.now();
    const j = await p.add(translationJob('x' + k));
    await p.finished(j);
    console.log('job', k, Date.now() - t, 'ms');
    await sleep(k * 1000);
  }
  t = Date.now();
  const jobs = await p.addBulk(Array.from({length: 1000}, (_, i) => ({data: translationJob('l' + i)})));
  console.log('addBulk', Date.now() - t); t = Date.now();
  await Promise.all(jobs.map(j => p.finished(j)));
  console.log('1000 done', Date.now() - t);
  await lingo.stop(); await p.close(); await llm.stop(); await redis.stop();
  console.log(lingo.tail(8));
})();
