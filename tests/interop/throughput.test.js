'use strict';
// Part D 1, 2 and 18: many jobs through lingo, exact return values, and
// several workers (lingo and Node) sharing one queue, each job run once.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { waitFor } = require('./lib/redis');
const { Lingo, logged } = require('./lib/lingo');
const { startNodeWorker } = require('./lib/nodeworker');
const { translationJob, expectedResult } = require('./lib/jobs');
const { servers } = require('./lib/servers');

/** Every state but `completed` must be empty. */
function assertOnlyCompleted(counts, expected) {
  for (const [state, n] of Object.entries(counts)) {
    assert.equal(n, state === 'completed' ? expected : 0, `getJobCounts().${state}`);
  }
}

/** HGETALL of every id, pipelined. */
async function hashes(redis, base, ids) {
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hgetall(base + id);
  return (await pipeline.exec()).map(([err, hash]) => { assert.ifError(err); return hash; });
}

for (const protocol of ['bull', 'bullmq']) {
  const { open } = require(`./lib/${protocol}q`);

  describe(`${protocol}: throughput`, () => {
    const s = servers({ llm: { latencyMs: 0 }, flushEach: true });

    /** A producer and one lingo on a fresh queue. */
    async function setUp(label, lingoOptions = {}) {
      const { queue, producer } = await s.producer(open, label);
      const lingo = await Lingo.start({ redisUrl: s.redis.url, protocol, queue, llmUrl: s.llm.url, ...lingoOptions });
      return { queue, producer, lingo };
    }

    test('1,000 jobs added with addBulk all resolve with the exact translation', logged(async () => {
      const { producer, lingo } = await setUp('bulk');
      await s.llm.resetStats();
      const data = Array.from({ length: 1000 }, (_, i) => {
        if (i === 0) return translationJob('ㅋㅋㅋ', ['en', 'ja']);
        if (i % 7 === 0) return translationJob(`line ${i}`, ['en', 'ja'], 'ko');
        return translationJob(`line ${i}`);
      });
      const jobs = await producer.addBulk(data.map((d) => ({ data: d })));
      const results = await Promise.all(jobs.map((job) => producer.finished(job)));
      results.forEach((result, i) => assert.deepEqual(result, expectedResult(data[i]), `job ${jobs[i].id}`));

      assertOnlyCompleted(await producer.counts(), 1000);
      const stored = await hashes(producer.redis, producer.base, jobs.map((j) => j.id));
      stored.forEach((hash, i) => {
        const id = jobs[i].id;
        assert.ok(Number(hash.processedOn) > 0, `job ${id} processedOn`);
        assert.ok(Number(hash.processedOn) <= Number(hash.finishedOn), `job ${id}: processedOn ${hash.processedOn} > finishedOn ${hash.finishedOn}`);
        assert.deepEqual(JSON.parse(hash.returnvalue), expectedResult(data[i]), `job ${id} returnvalue`);
        if (protocol === 'bullmq') {
          assert.equal(hash.atm, '1', `job ${id} atm`);
          assert.equal(hash.ats, '1', `job ${id} ats`);
        } else {
          assert.equal(hash.attemptsMade ?? '0', '0', `job ${id} attemptsMade`);
        }
      });
      // One backend call per (unique) target language: no job ran twice.
      const units = data.reduce((n, d) => n + d.targetLanguages.length, 0);
      assert.equal(await s.llm.requests(), units);
      assert.equal((await lingo.doneIdsWhen(1000)).length, 1000);
      // The producer side was told once per job (pub/sub message / stream entry).
      const told = (await producer.events()).filter((e) => e.event === 'completed').map((e) => e.jobId);
      assert.deepEqual(told.sort(), jobs.map((j) => String(j.id)).sort());
    }));

    test('the return value keeps its shape and exact text through JSON', logged(async () => {
      const { producer, lingo } = await setUp('shape');
      const texts = ['say "hi"\nand\\bye', '🎉 #tag @me https://example.com/?a=1&b=2', '</script><b>x</b>', 'ñ 中文 العربية', '\u0000 \t nul and tab'];
      const data = texts.map((t) => translationJob(t, ['en', 'pt-BR'], 'es'));
      const jobs = await Promise.all(data.map((d) => producer.add(d)));
      for (const [i, job] of jobs.entries()) {
        const value = await producer.finished(job);
        assert.deepEqual(Object.keys(value).sort(), ['providers', 'sourceLanguage', 'translations']);
        assert.deepEqual(value, expectedResult(data[i]));
      }
      if (protocol === 'bullmq') {
        assert.equal(producer.queueEvents.running, true, 'QueueEvents still running');
        assert.equal(producer.queueEventsError, undefined, 'QueueEvents error');
        // And it still delivers: one more job after those.
        const late = await producer.add(translationJob('after'));
        assert.deepEqual(await producer.finished(late), expectedResult(translationJob('after')));
      }
    }));

    test('two lingo processes and a Node worker run 5,000 jobs, each exactly once', logged(async () => {
      const { queue, producer } = await s.producer(open, 'shared');
      const options = { redisUrl: s.redis.url, protocol, queue, llmUrl: s.llm.url, concurrency: 8 };
      const lingos = [await Lingo.start(options), await Lingo.start(options)];
      const nodeValue = (data) => ({ translations: { en: `node: ${data.text}` }, sourceLanguage: null, providers: { en: 'node' } });
      const node = await startNodeWorker({ protocol, port: s.redis.port, queue, concurrency: 8, handler: nodeValue });
      s.cleanup(() => node.close());
      await s.llm.resetStats();

      const data = Array.from({ length: 5000 }, (_, i) => translationJob(`shared ${i}`));
      const jobs = await producer.addBulk(data.map((d) => ({ data: d })));
      await waitFor('5,000 completed jobs', async () => (await producer.counts()).completed === 5000, { ms: 120_000, every: 250 });
      assertOnlyCompleted(await producer.counts(), 5000);

      // Who ran what: lingo's "job <id> done" lines and the Node worker's own list.
      const lingoLines = () => lingos.flatMap((l) => l.doneIds());
      await waitFor('every run in a log', () => lingoLines().length + node.handled.length >= 5000, { ms: 5000 });
      const byLingo = lingoLines();
      const ran = [...byLingo, ...node.handled];
      assert.equal(ran.length, 5000, 'handler runs in total');
      assert.equal(new Set(ran).size, 5000, 'no job ran twice');
      assert.deepEqual(new Set(ran), new Set(jobs.map((j) => String(j.id))));
      for (const [i, worker] of [...lingos, node].entries()) {
        assert.ok((worker.handled ?? worker.doneIds()).length > 0, `worker ${i} took part`);
      }
      // lingo's log misses no run: each run made exactly one backend call.
      assert.equal(await s.llm.requests(), byLingo.length, 'stand-in requests = lingo runs');

      const nodeIds = new Set(node.handled);
      const stored = await hashes(producer.redis, producer.base, jobs.map((j) => j.id));
      stored.forEach((hash, i) => {
        const id = String(jobs[i].id);
        const want = nodeIds.has(id) ? nodeValue(data[i]) : expectedResult(data[i]);
        assert.deepEqual(JSON.parse(hash.returnvalue), want, `job ${id} returnvalue`);
        assert.equal(hash[producer.fields.stalled], undefined, `job ${id} stalled`);
        if (protocol === 'bullmq') assert.equal(hash.ats, '1', `job ${id} started once`);
      });
      for (const lingo of lingos) assert.doesNotMatch(lingo.stderr, /lock lost|no longer active|ERROR/);
    }));
  });
}
