'use strict';
// Part D 3, 4, 5 and the 429 case: what a producer sees when lingo's backend
// is down (a retryable failure), fails once, or asks it to slow down.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { waitFor } = require('./lib/redis');
const { deadUrl } = require('./lib/devllm');
const { Lingo, logged } = require('./lib/lingo');
const { translationJob, expectedResult, settle } = require('./lib/jobs');
const { servers } = require('./lib/servers');

/** When each attempt of a job started: its `active` notifications (bull pub/sub, bullmq stream). */
function starts(events) {
  return events.filter((e) => e.event === 'active').map((e) => e.at);
}

/** Backoff announced with each delay: due time minus when it was announced (bull: the `delayed` channel, bullmq: the `delayed` event). */
function announcedDelays(events) {
  return events.filter((e) => e.event === 'delayed').map((e) => (e.due ?? Number(e.delay)) - e.at);
}

const count = (events, name) => events.filter((e) => e.event === name).length;

for (const protocol of ['bull', 'bullmq']) {
  const { open } = require(`./lib/${protocol}q`);

  describe(`${protocol}: failures and retries`, () => {
    const s = servers({ llm: { latencyMs: 0 }, flushEach: true });

    /** A producer and one lingo on a fresh queue; `llmUrl` defaults to the stand-in. */
    async function setUp(label, llmUrl = s.llm.url) {
      const { queue, producer } = await s.producer(open, label);
      const lingo = await Lingo.start({ redisUrl: s.redis.url, protocol, queue, llmUrl });
      return { producer, lingo };
    }

    test('attempts 3 with exponential backoff 200 ms against a dead backend: one rejection after 3 attempts', logged(async () => {
      const { producer } = await setUp('dead-exp', await deadUrl());
      const job = await producer.add(translationJob('nobody home'), { attempts: 3, backoff: { type: 'exponential', delay: 200 } });
      const outcome = await settle(producer, job);
      assert.equal(outcome.status, 'failed');
      assert.match(outcome.reason, /`vllm`/, 'failedReason names the stage');

      const hash = await producer.hash(job.id);
      assert.equal(hash[producer.fields.attempts], '3');
      assert.equal(hash.failedReason, outcome.reason);
      assert.equal(JSON.parse(hash.stacktrace).length, 3);
      assert.notEqual(await producer.redis.zscore(`${producer.base}failed`, job.id), null, 'in the failed set');

      const events = await producer.events(job.id);
      const begun = starts(events);
      assert.equal(begun.length, 3, 'attempts started');
      // bull waits (2^n - 1) * delay, bullmq 2^(n-1) * delay.
      const backoffs = protocol === 'bull' ? [200, 600] : [200, 400];
      backoffs.forEach((backoff, k) => {
        const gap = begun[k + 1] - begun[k];
        assert.ok(gap >= backoff - 25, `attempt ${k + 2} began ${gap} ms after attempt ${k + 1}, expected at least ${backoff}`);
        assert.ok(gap < backoff + 3000, `attempt ${k + 2} began ${gap} ms after attempt ${k + 1}`);
      });
      const delays = announcedDelays(protocol === 'bull' ? await producer.events() : events);
      assert.equal(delays.length, 2, 'delayed announcements');
      delays.forEach((delay, k) => assert.ok(Math.abs(delay - backoffs[k]) < 100, `retry ${k + 1} announced a ${delay} ms delay, expected ${backoffs[k]}`));
      assert.equal(count(events, 'failed'), 1, 'failed notifications');
      if (protocol === 'bullmq') assert.equal(count(events, 'retries-exhausted'), 1);
    }));

    test('attempts 3 without backoff: immediate retries, then one rejection', logged(async () => {
      const { producer } = await setUp('dead-now', await deadUrl());
      const job = await producer.add(translationJob('still nobody'), { attempts: 3 });
      const outcome = await settle(producer, job);
      assert.equal(outcome.status, 'failed');
      assert.match(outcome.reason, /`vllm`/);
      const hash = await producer.hash(job.id);
      assert.equal(hash[producer.fields.attempts], '3');
      assert.equal(JSON.parse(hash.stacktrace).length, 3);

      const events = await producer.events(job.id);
      const begun = starts(events);
      assert.equal(begun.length, 3, 'attempts started');
      for (let k = 1; k < 3; k++) assert.ok(begun[k] - begun[k - 1] < 2000, `retry ${k} waited ${begun[k] - begun[k - 1]} ms`);
      assert.equal(count(protocol === 'bull' ? await producer.events() : events, 'delayed'), 0, 'never delayed');
      if (protocol === 'bullmq') {
        assert.equal(events.filter((e) => e.event === 'waiting' && e.prev === 'active').length, 2, 'waiting (prev active) events');
      }
      assert.equal(count(events, 'failed'), 1, 'failed notifications');
    }));

    test('fails once (500), then succeeds on the second attempt: resolves, no failed notification', logged(async () => {
      const { producer } = await setUp('flaky');
      const requestsBefore = await s.llm.requests();
      await s.llm.setFaults({ fault: 'status:500', fail_rate: 1 });
      try {
        const data = translationJob('second time lucky');
        const job = await producer.add(data, { attempts: 2, backoff: { type: 'fixed', delay: 300 } });
        const failed = await waitFor('the first attempt to fail',
          async () => { const h = await producer.hash(job.id); return h[producer.fields.attempts] === '1' && h; }, { every: 10 });
        await s.llm.setFaults({ fault: 'none' });
        assert.match(failed.failedReason ?? '', /500/, 'failedReason of the first attempt');
        assert.equal(JSON.parse(failed.stacktrace ?? '[]').length, 1, 'stacktrace after the first attempt');
        assert.deepEqual(await producer.finished(job), expectedResult(data));

        const hash = await producer.hash(job.id);
        // bull counts failed attempts only; bullmq counts every finished attempt.
        assert.equal(hash[producer.fields.attempts], protocol === 'bull' ? '1' : '2');
        const events = await producer.events(job.id);
        assert.equal(starts(events).length, 2);
        assert.equal(count(events, 'failed'), 0, 'failed notifications');
        assert.equal(count(events, 'completed'), 1);
        assert.equal(await s.llm.requests() - requestsBefore, 2, 'backend calls');
      } finally {
        await s.llm.setFaults({ fault: 'none' });
      }
    }));

    test('429 with Retry-After 1: delayed about 1 s, then completes without using an attempt', logged(async () => {
      const { producer } = await setUp('limited');
      await s.llm.setFaults({ fault: 'status:429:1', fail_rate: 1 });
      try {
        const data = translationJob('slow down');
        // Default attempts (bull 1, bullmq 0): a used-up attempt would fail the job.
        const job = await producer.add(data);
        await waitFor('the job to be delayed', async () => (await producer.redis.zscore(`${producer.base}delayed`, job.id)) !== null, { every: 10 });
        await s.llm.setFaults({ fault: 'none' });
        assert.deepEqual(await producer.finished(job), expectedResult(data));

        const events = await producer.events(job.id);
        const begun = starts(events);
        assert.equal(begun.length, 2, 'runs');
        assert.ok(begun[1] - begun[0] >= 950, `ran again after ${begun[1] - begun[0]} ms, expected about 1000`);
        assert.ok(begun[1] - begun[0] < 4000, `ran again after ${begun[1] - begun[0]} ms`);
        const delays = announcedDelays(protocol === 'bull' ? await producer.events() : events);
        assert.equal(delays.length, 1);
        assert.ok(Math.abs(delays[0] - 1000) < 100, `announced a ${delays[0]} ms delay, expected 1000 (Retry-After)`);
        assert.equal(count(events, 'failed'), 0);

        const hash = await producer.hash(job.id);
        if (protocol === 'bull') {
          assert.equal(hash.attemptsMade ?? '0', '0', 'attemptsMade');
        } else {
          assert.equal(hash.atm, '1', 'atm (the completion only)');
        }
      } finally {
        await s.llm.setFaults({ fault: 'none' });
      }
    }));

    test('429 with Retry-After 0 for ever: runs every 500 ms at most, then spends its attempts and fails', { timeout: 60_000 }, logged(async () => {
      const { producer } = await setUp('limited-forever');
      await s.llm.setFaults({ fault: 'status:429:0', fail_rate: 1 });
      try {
        const job = await producer.add(translationJob('never now'), { attempts: 2 });
        const outcome = await settle(producer, job);
        assert.equal(outcome.status, 'failed');
        assert.match(outcome.reason, /rate limited more than 20 times: each rate limit now counts as a failed attempt/);
        const begun = starts(await producer.events(job.id));
        assert.equal(begun.length, 22, '20 free runs, then its 2 attempts');
        const gaps = begun.slice(1, 21).map((at, k) => at - begun[k]);
        assert.ok(Math.min(...gaps) >= 450, `a free run came ${Math.min(...gaps)} ms after the last: Retry-After 0 is clamped to 500 ms`);
      } finally {
        await s.llm.setFaults({ fault: 'none' });
      }
    }));
  });
}
