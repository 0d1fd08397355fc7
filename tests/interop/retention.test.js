'use strict';
// Part D 13: removeOnComplete / removeOnFail. The job hash goes or stays as
// the job's options say, and the producer still learns the outcome (for a
// removed job only the notification can tell it).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { sleep } = require('./lib/redis');
const { Lingo, logged } = require('./lib/lingo');
const { translationJob, expectedResult, settle } = require('./lib/jobs');
const { servers } = require('./lib/servers');

/** Data lingo rejects at once (a fatal failure). */
const BAD = { text: '', targetLanguages: ['en'] };

for (const protocol of ['bull', 'bullmq']) {
  const { open } = require(`./lib/${protocol}q`);

  describe(`${protocol}: removeOnComplete / removeOnFail`, () => {
    const s = servers({ llm: { latencyMs: 0 }, flushEach: true });

    /**
     * Adds `items` ({data, opts}), starts waiting on each, and only then starts
     * lingo: bullmq's waitUntilFinished rejects ("Missing key") when a removed
     * job finished before it looked.
     */
    async function run(label, items) {
      const { queue, producer } = await s.producer(open, label);
      const jobs = [];
      for (const item of items) jobs.push(await producer.add(item.data, item.opts));
      const outcomes = Promise.all(jobs.map((job) => settle(producer, job)));
      await sleep(300);
      await Lingo.start({ redisUrl: s.redis.url, protocol, queue, llmUrl: s.llm.url, concurrency: 1 });
      return { producer, jobs, outcomes: await outcomes };
    }

    const exists = (producer, id) => producer.redis.exists(producer.base + id);
    const members = (producer, set) => producer.redis.zrange(producer.base + set, 0, -1);

    test('removeOnComplete true: resolves, job gone; a job without it is kept', logged(async () => {
      const data = [translationJob('gone'), translationJob('kept')];
      const { producer, jobs, outcomes } = await run('roc-true', [{ data: data[0], opts: { removeOnComplete: true } }, { data: data[1] }]);
      assert.deepEqual(outcomes, data.map((d) => ({ status: 'completed', value: expectedResult(d) })));
      assert.equal(await exists(producer, jobs[0].id), 0, 'removed job hash');
      assert.equal(await exists(producer, jobs[1].id), 1, 'kept job hash');
      assert.deepEqual(await members(producer, 'completed'), [String(jobs[1].id)]);
    }));

    test('removeOnComplete {count: 10}: all 15 resolve, the newest 10 are kept', logged(async () => {
      const data = Array.from({ length: 15 }, (_, i) => translationJob(`count ${i}`));
      const { producer, jobs, outcomes } = await run('roc-count', data.map((d) => ({ data: d, opts: { removeOnComplete: { count: 10 } } })));
      assert.deepEqual(outcomes, data.map((d) => ({ status: 'completed', value: expectedResult(d) })));
      // Concurrency 1, FIFO: the last 10 added finished last.
      const newest = jobs.slice(5).map((j) => String(j.id));
      assert.deepEqual((await members(producer, 'completed')).sort(), [...newest].sort());
      for (const [i, job] of jobs.entries()) assert.equal(await exists(producer, job.id), i < 5 ? 0 : 1, `job ${job.id} hash`);
    }));

    test('removeOnFail true: rejects with the reason, job gone', logged(async () => {
      const { producer, jobs, outcomes } = await run('rof-true', [{ data: BAD, opts: { removeOnFail: true, attempts: 3 } }]);
      assert.equal(outcomes[0].status, 'failed');
      assert.match(outcomes[0].reason, /`text` is empty/);
      assert.equal(await exists(producer, jobs[0].id), 0);
      assert.deepEqual(await members(producer, 'failed'), []);
    }));

    test('removeOnFail {age: 1}: a failure removes failed jobs older than 1 s', logged(async () => {
      const { queue, producer } = await s.producer(open, 'rof-age');
      await Lingo.start({ redisUrl: s.redis.url, protocol, queue, llmUrl: s.llm.url });
      const opts = { removeOnFail: { age: 1 } };
      const old = await producer.add(BAD, opts);
      assert.equal((await settle(producer, old)).status, 'failed');
      assert.equal(await exists(producer, old.id), 1, 'just failed: kept');
      await sleep(2100);
      const fresh = await producer.add(BAD, opts);
      assert.equal((await settle(producer, fresh)).status, 'failed');
      assert.equal(await exists(producer, old.id), 0, 'older than 1 s: removed');
      assert.equal(await exists(producer, fresh.id), 1);
      assert.deepEqual(await members(producer, 'failed'), [String(fresh.id)]);
    }));
  });
}
