'use strict';
// Part D 10, 11, 14, 15 and 16: when jobs run. Delays, priorities, a global
// pause (also while a job is being retried), and custom job ids.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { sleep, waitFor } = require('./lib/redis');
const { Lingo, logged } = require('./lib/lingo');
const { translationJob, expectedResult } = require('./lib/jobs');
const { servers } = require('./lib/servers');

for (const protocol of ['bull', 'bullmq']) {
  const { open } = require(`./lib/${protocol}q`);

  describe(`${protocol}: scheduling`, () => {
    const s = servers({ llm: { latencyMs: 0 }, flushEach: true });

    const startLingo = (queue, options = {}) => Lingo.start({ redisUrl: s.redis.url, protocol, queue, llmUrl: s.llm.url, ...options });

    test('delayed jobs (delay 2000) start no earlier than 2 s after creation, whether lingo is busy or idle', logged(async () => {
      const { queue, producer } = await s.producer(open, 'delayed');
      await startLingo(queue);
      // One added in a burst of ready jobs, one after lingo has sat idle (blocked waiting) for a second.
      const burst = Array.from({ length: 20 }, (_, i) => producer.add(translationJob(`ready ${i}`)));
      const busy = await producer.add(translationJob('delayed while busy'), { delay: 2000 });
      await Promise.all(burst);
      await sleep(1000);
      const idle = await producer.add(translationJob('delayed while idle'), { delay: 2000 });

      for (const job of [busy, idle]) {
        assert.deepEqual(await producer.finished(job), expectedResult(job.data));
        const hash = await producer.hash(job.id);
        const waited = Number(hash.processedOn) - Number(hash.timestamp);
        assert.ok(waited >= 2000, `job ${job.id} started ${waited} ms after creation`);
        assert.ok(waited < 3500, `job ${job.id} started ${waited} ms after creation, expected soon after 2000`);
        assert.equal(hash.delay, '0', 'delay reset on promotion');
        if (protocol === 'bullmq') {
          const events = await producer.events(job.id);
          assert.ok(events.some((e) => e.event === 'waiting' && e.prev === 'delayed'), 'waiting (prev delayed) event');
        }
      }
    }));

    test('priorities at concurrency 1 run in the library\'s order', logged(async () => {
      const { queue, producer } = await s.producer(open, 'priority');
      const adds = [['n1', 0], ['n2', 0], ['p10', 10], ['p1', 1], ['n3', 0], ['p5', 5]];
      const label = {};
      const jobs = [];
      for (const [name, priority] of adds) {
        const job = await producer.add(translationJob(name), priority ? { priority } : {});
        label[job.id] = name;
        jobs.push(job);
      }
      await startLingo(queue, { concurrency: 1 });
      await Promise.all(jobs.map((job) => producer.finished(job)));

      const order = (await producer.events()).filter((e) => e.event === 'active').map((e) => label[e.jobId]);
      // Observed with the libraries' own Node workers: bull runs prioritized jobs first, bullmq last.
      const expected = protocol === 'bull' ? ['p1', 'p5', 'p10', 'n1', 'n2', 'n3'] : ['n1', 'n2', 'n3', 'p1', 'p5', 'p10'];
      assert.deepEqual(order, expected);
      const started = await Promise.all(expected.map(async (name) => {
        const job = jobs.find((j) => label[j.id] === name);
        return Number((await producer.hash(job.id)).processedOn);
      }));
      for (let i = 1; i < started.length; i++) assert.ok(started[i] >= started[i - 1], `processedOn order at ${expected[i]}`);
    }));

    test('a global pause holds new jobs for 3 s; resume runs them all', logged(async () => {
      const { queue, producer } = await s.producer(open, 'pause');
      await startLingo(queue);
      await producer.pause();
      const requestsBefore = await s.llm.requests();
      const data = Array.from({ length: 5 }, (_, i) => translationJob(`paused ${i}`));
      const jobs = await Promise.all(data.map((d) => producer.add(d)));
      await sleep(3000);

      assert.equal((await producer.events()).filter((e) => e.event === 'active').length, 0, 'jobs started while paused');
      const counts = await producer.counts();
      assert.equal(counts.active, 0);
      assert.equal(counts.completed, 0);
      assert.equal(counts.waiting + (counts.paused ?? 0), 5, 'jobs waiting (bullmq v6 keeps paused jobs in wait)');
      assert.equal(await s.llm.requests(), requestsBefore, 'backend calls while paused');
      for (const job of jobs) assert.equal((await producer.hash(job.id)).processedOn, undefined);

      await producer.resume();
      const results = await Promise.all(jobs.map((job) => producer.finished(job)));
      results.forEach((result, i) => assert.deepEqual(result, expectedResult(data[i])));
      const after = await producer.counts();
      for (const [state, n] of Object.entries(after)) assert.equal(n, state === 'completed' ? 5 : 0, `getJobCounts().${state}`);
    }));

    test('a job retried while the queue is paused waits for resume and is not lost', logged(async () => {
      const { queue, producer } = await s.producer(open, 'pause-retry');
      await startLingo(queue);
      await s.llm.setFaults({ fault: 'status:500', fail_rate: 1, latency_ms: 800 });
      try {
        const data = translationJob('retried during pause');
        const job = await producer.add(data, { attempts: 2 });
        await waitFor('the first attempt to start', async () => (await producer.hash(job.id)).processedOn, { every: 10 });
        await producer.pause();
        await waitFor('the first attempt to fail', async () => (await producer.hash(job.id))[producer.fields.attempts] === '1');
        await s.llm.setFaults({ fault: 'none', latency_ms: 0 });
        await sleep(1500);
        const starts = async () => (await producer.events(job.id)).filter((e) => e.event === 'active').length;
        assert.equal(await starts(), 1, 'runs while paused');
        assert.equal((await producer.counts()).completed, 0);

        await producer.resume();
        assert.deepEqual(await producer.finished(job), expectedResult(data));
        assert.equal(await starts(), 2);
      } finally {
        await s.llm.setFaults({ fault: 'none', latency_ms: 0 });
      }
    }));

    test('a custom jobId added twice (and again once done) runs once', logged(async () => {
      const { queue, producer } = await s.producer(open, 'jobid');
      const lingo = await startLingo(queue);
      const requestsBefore = await s.llm.requests();
      const data = translationJob('order 42');
      const first = await producer.add(data, { jobId: 'order-42' });
      const second = await producer.add(translationJob('order 42, again'), { jobId: 'order-42' });
      assert.equal(String(first.id), 'order-42');
      assert.equal(String(second.id), 'order-42');
      assert.deepEqual(await producer.finished(first), expectedResult(data));
      await producer.add(translationJob('order 42, once more'), { jobId: 'order-42' });
      await sleep(1000);

      assert.deepEqual(lingo.doneIds().filter((id) => id === 'order-42'), ['order-42'], 'runs of order-42');
      assert.equal(await s.llm.requests() - requestsBefore, 1, 'backend calls');
      assert.equal(await producer.redis.exists(`${producer.base}order-42`), 1);
      const hash = await producer.hash('order-42');
      assert.deepEqual(JSON.parse(hash.data), data, 'the first add\'s data is kept');
      assert.deepEqual(JSON.parse(hash.returnvalue), expectedResult(data));
      const counts = await producer.counts();
      assert.equal(counts.completed, 1);
    }));
  });
}
