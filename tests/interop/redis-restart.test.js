'use strict';
// Part D 22: Redis goes away and comes back (empty: the test server keeps no
// data). lingo must ride it out, idle or busy, and take the jobs added after.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { RedisServer, sleep, waitFor } = require('./lib/redis');
const { DevLlm } = require('./lib/devllm');
const { Lingo, logged } = require('./lib/lingo');
const { translationJob, expectedResult, queueName } = require('./lib/jobs');

for (const protocol of ['bull', 'bullmq']) {
  const { open } = require(`./lib/${protocol}q`);

  describe(`${protocol}: Redis restarts`, () => {
    let redis;
    let llm;
    let producer;
    let lingo;

    before(async () => {
      redis = await RedisServer.start();
      llm = await DevLlm.start({ latencyMs: 20 });
      const queue = queueName('restart');
      producer = await open(redis, queue);
      lingo = await Lingo.start({ redisUrl: redis.url, protocol, queue, llmUrl: llm.url });
    });

    after(async () => {
      try {
        await Lingo.stopAll();
      } finally {
        await Lingo.killAll();
        await producer.close();
        await llm.stop();
        await redis.stop();
      }
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
      await redis.restart();
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
      await redis.restart();
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
