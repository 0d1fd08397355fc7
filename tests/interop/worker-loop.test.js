'use strict';
// What lingo's own worker loop must get right on both protocols, beyond the
// happy path: an idle queue costs Redis almost nothing and stops at once; a
// job whose lock is lost while it still runs is finished once, by the run
// that holds the lock; Redis restarting under 1,000 jobs in flight loses
// none and runs none twice. (The LLM server is lingo's stand-in.)

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { RedisServer, sleep, waitFor } = require('./lib/redis');
const { DevLlm } = require('./lib/devllm');
const { Lingo, logged } = require('./lib/lingo');
const { translationJob, expectedResult } = require('./lib/jobs');

/** The commands clients send to `redis` during `ms` (not those a script runs), by name. */
async function commandsSent(redis, ms) {
  const monitor = await redis.client().monitor();
  const sent = {};
  monitor.on('monitor', (_time, args, source) => {
    if (source !== 'lua') sent[args[0]] = (sent[args[0]] ?? 0) + 1;
  });
  await sleep(ms);
  monitor.disconnect();
  return sent;
}

/** A Redis (AOF, so a restart keeps its data), a stand-in LLM, a producer; torn down after `fn`. */
async function withServers(protocol, queue, { latencyMs }, fn) {
  const { open } = require(`./lib/${protocol}q`);
  const redis = await RedisServer.start({ appendonly: true });
  const llm = await DevLlm.start({ latencyMs });
  const producer = await open(redis, queue);
  try {
    await fn({ redis, llm, producer });
  } finally {
    await Lingo.killAll();
    await producer.close().catch(() => {});
    await llm.stop();
    await redis.stop();
  }
}

for (const protocol of ['bull', 'bullmq']) {
  describe(`${protocol}: lingo's worker loop`, () => {
    test('an idle queue: under one Redis command a second, and SIGTERM stops lingo at once', { timeout: 60_000 }, logged(async () => {
      await withServers(protocol, 'idle', { latencyMs: 0 }, async ({ redis, llm, producer }) => {
        const lingo = await Lingo.start({ redisUrl: redis.url, protocol, queue: 'idle', llmUrl: llm.url });
        const job = await producer.add(translationJob('one before the quiet'));
        assert.deepEqual(await producer.finished(job), expectedResult(translationJob('one before the quiet')));
        // Only lingo talks to Redis now.
        await producer.close();
        await sleep(1000);
        const window = 12_000;
        const sent = await commandsSent(redis, window);
        const total = Object.values(sent).reduce((a, b) => a + b, 0);
        const perSecond = total / (window / 1000);
        assert.ok(perSecond < 1, `an idle lingo sent ${total} commands in ${window} ms (${perSecond.toFixed(2)}/s): ${JSON.stringify(sent)}`);
        // The blocking fetch is interrupted, not waited out (drain delay 5 s).
        const stopping = Date.now();
        await lingo.stop();
        const took = Date.now() - stopping;
        assert.ok(took < 2000, `an idle lingo took ${took} ms to stop`);
      });
    }));

    test('a lock lost while the job runs: the job is run again and completed once, by the run holding the lock', { timeout: 60_000 }, logged(async () => {
      await withServers(protocol, 'lost-lock', { latencyMs: 3000 }, async ({ redis, llm, producer }) => {
        const lingo = await Lingo.start({ redisUrl: redis.url, protocol, queue: 'lost-lock', llmUrl: llm.url,
          lockDuration: '4s', stalledInterval: '1s', maxStalledCount: 1 });
        const data = translationJob('my lock goes');
        const job = await producer.add(data);
        const finished = producer.finished(job);
        await waitFor('the job to start', async () => (await llm.requests()) === 1, { every: 20 });
        // As if the lock expired: the next renewal finds it gone and the
        // stalled check (every second) hands the job back to wait.
        await producer.redis.del(`${producer.base}${job.id}:lock`);
        assert.deepEqual(await finished, expectedResult(data));
        // Both runs finished their pipeline (the second joins the first's
        // LLM call, which lingo coalesces); only one wrote an outcome.
        assert.deepEqual(await lingo.doneIdsWhen(2), [String(job.id), String(job.id)]);
        await waitFor('the first run\'s outcome to be refused', () => /outcome discarded/.test(lingo.stderr), { ms: 5000 });
        const hash = await producer.hash(job.id);
        assert.deepEqual(JSON.parse(hash.returnvalue), expectedResult(data));
        const counts = await producer.counts();
        assert.deepEqual([counts.completed, counts.failed, counts.active, counts.waiting ?? counts.wait], [1, 0, 0, 0]);
        if (protocol === 'bullmq') {
          const completions = (await producer.events(job.id)).filter((e) => e.event === 'completed');
          assert.equal(completions.length, 1, 'one completed event');
        }
      });
    }));

    test('Redis restarts under 1,000 jobs in flight: every job completes, none runs twice', { timeout: 120_000 }, logged(async () => {
      await withServers(protocol, 'thousand', { latencyMs: 3000 }, async ({ redis, llm, producer }) => {
        await Lingo.start({ redisUrl: redis.url, protocol, queue: 'thousand', llmUrl: llm.url, concurrency: 1000,
          lockDuration: '30s', stalledInterval: '30s' });
        const data = Array.from({ length: 1000 }, (_, i) => translationJob(`in flight ${i}`));
        const jobs = await producer.addBulk(data.map((d) => ({ data: d })));
        await waitFor('1,000 jobs in flight', async () => (await llm.requests()) === 1000, { ms: 30_000, every: 50 });
        await redis.halt();
        await sleep(3500); // every backend call answers meanwhile
        await redis.restart();
        await waitFor('1,000 jobs completed', async () => (await producer.counts()).completed === 1000, { ms: 60_000, every: 200 });
        for (const [i, job] of jobs.entries()) {
          const hash = await producer.hash(job.id);
          assert.deepEqual(JSON.parse(hash.returnvalue), expectedResult(data[i]), `job ${job.id}`);
        }
        assert.equal(await llm.requests(), 1000, 'each job ran once');
        const counts = await producer.counts();
        assert.equal(counts.failed, 0);
        assert.equal(counts.active, 0);
      });
    }));
  });
}
