'use strict';
// Part D 22: Redis goes away and comes back (empty: the test server keeps no
// data). lingo must ride it out, idle or busy, and take the jobs added after.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const { RedisServer, sleep, waitFor } = require('./lib/redis');
const { DevLlm } = require('./lib/devllm');
const { Lingo, logged } = require('./lib/lingo');
const { translationJob, expectedResult } = require('./lib/jobs');
const { servers } = require('./lib/servers');

for (const protocol of ['bull', 'bullmq']) {
  const { open } = require(`./lib/${protocol}q`);

  describe(`${protocol}: Redis restarts`, () => {
    const s = servers({ llm: { latencyMs: 20 } });
    let producer;
    let lingo;

    before(async () => {
      let queue;
      ({ queue, producer } = await s.producer(open, 'restart'));
      lingo = await Lingo.start({ redisUrl: s.redis.url, protocol, queue, llmUrl: s.llm.url });
    });

    /** Adds `n` jobs labelled `label` and expects every one to resolve with its translation. */
    async function runBatch(label, n) {
      const data = Array.from({ length: n }, (_, i) => translationJob(`${label} ${i}`));
      const jobs = await producer.addBulk(data.map((d) => ({ data: d })));
      const results = await Promise.all(jobs.map((job) => producer.finished(job)));
      results.forEach((result, i) => assert.deepEqual(result, expectedResult(data[i]), `${label} job ${jobs[i].id}`));
    }

    test('restart while lingo is idle, then while it is busy: 200 jobs added after each complete', { timeout: 90_000 }, logged(async () => {
      await runBatch('before', 10);

      await sleep(1000); // lingo is now blocked waiting for jobs
      await s.redis.restart();
      const restartedAt = Date.now();
      await runBatch('after idle restart', 200);
      const resumed = Date.now() - restartedAt;
      assert.ok(resumed < 10_000, `the 200 jobs took ${resumed} ms after Redis came back`);
      const delayed = await producer.add(translationJob('delayed after restart'), { delay: 1000 });
      assert.deepEqual(await producer.finished(delayed), expectedResult(translationJob('delayed after restart')));
      const hash = await producer.hash(delayed.id);
      const waited = Number(hash.processedOn) - Number(hash.timestamp);
      assert.ok(waited >= 1000 && waited < 2500, `delayed job started ${waited} ms after creation`);

      // Busy: 400 jobs of 20 ms at concurrency 8 take about a second; restart in the middle.
      const doomed = await producer.addBulk(Array.from({ length: 400 }, (_, i) => ({ data: translationJob(`lost ${i}`) })));
      await waitFor('lingo to be busy', async () => (await producer.counts()).completed >= 250);
      await s.redis.restart();
      assert.ok(doomed.length === 400);
      await runBatch('after busy restart', 200);

      const counts = await producer.counts();
      assert.equal(counts.completed, 200, 'completed since the last restart');
      assert.equal(counts.failed, 0);
      assert.equal(counts.active, 0);
      assert.equal(lingo.exit, null, 'lingo still running');
    }));
  });
}

// A job whose backend answers while Redis is away: its completion waits for
// Redis and lands once it is back, without a second run by stalled
// recovery. Redis keeps its data here (AOF).
for (const protocol of ['bull', 'bullmq']) {
  const { open } = require(`./lib/${protocol}q`);

  describe(`${protocol}: a job done while Redis is away`, () => {
    test('completes once Redis is back, run once, without waiting for stalled recovery', { timeout: 60_000 }, logged(async () => {
      const redis = await RedisServer.start({ appendonly: true });
      const llm = await DevLlm.start({ latencyMs: 2500 });
      const producer = await open(redis, 'away');
      const lingo = await Lingo.start({ redisUrl: redis.url, protocol, queue: 'away', llmUrl: llm.url,
        lockDuration: '30s', stalledInterval: '30s' });
      try {
        const job = await producer.add(translationJob('while away'));
        await waitFor('the job to start', async () => (await producer.counts()).active === 1, { every: 20 });
        await redis.halt();
        await sleep(3500); // the backend answers meanwhile
        await redis.restart();
        const finishedOn = await waitFor('the job to complete', async () => (await producer.hash(job.id)).finishedOn, { ms: 20_000 });
        const hash = await producer.hash(job.id);
        assert.deepEqual(JSON.parse(hash.returnvalue), expectedResult(translationJob('while away')));
        assert.ok(Number(finishedOn) > 0);
        assert.equal(await llm.requests(), 1, 'run once: not again by stalled recovery');
        assert.equal(lingo.exit, null);
      } finally {
        await lingo.stop().catch(() => lingo.kill());
        await producer.close().catch(() => {});
        await llm.stop();
        await redis.stop();
      }
    }));
  });
}
