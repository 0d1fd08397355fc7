'use strict';
// Part D 7, 9, 17 and graceful shutdown: workers that die mid-job (lingo or
// Node, recovered by the other kind), a job longer than its lock, and SIGTERM
// with jobs in flight. Each test has its own queue and stand-in, so they run
// at once (most of their time is waiting for locks to expire).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { sleep, waitFor } = require('./lib/redis');
const { DevLlm } = require('./lib/devllm');
const { Lingo, logged } = require('./lib/lingo');
const { startNodeWorker } = require('./lib/nodeworker');
const { translationJob, expectedResult } = require('./lib/jobs');
const { servers } = require('./lib/servers');

const TIMEOUT = { timeout: 90_000 };
/** What the Node workers here return, so a producer can tell who ran its job. */
const nodeResult = (data) => ({ translations: { en: `node: ${data.text}` }, sourceLanguage: null, providers: { en: 'node' } });

/** Spawns lib/nodeworker.js (its jobs never finish) and waits until it is ready. */
async function spawnHangingNodeWorker(protocol, port, queue) {
  const child = spawn(process.execPath, [path.join(__dirname, 'lib/nodeworker.js'), protocol, String(port), queue], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => { out += chunk; });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await waitFor('the Node worker to start', () => out.includes('ready'));
  return { child, exited, took: (id) => out.includes(`active ${id}\n`) };
}

for (const protocol of ['bull', 'bullmq']) {
  const { open } = require(`./lib/${protocol}q`);

  describe(`${protocol}: crashes, long jobs and shutdown`, { concurrency: true }, () => {
    const s = servers();

    /** A fresh queue, its producer and a stand-in with `latencyMs`. */
    async function setUp(label, latencyMs) {
      const { queue, producer } = await s.producer(open, label);
      const llm = await DevLlm.start({ latencyMs });
      s.cleanup(() => llm.stop());
      const lingoOptions = { redisUrl: s.redis.url, protocol, queue, llmUrl: llm.url, lockDuration: '4s', stalledInterval: '5s' };
      return { queue, producer, llm, lingoOptions };
    }

    /** The job was put back once by a stalled check, visibly to the producer side. */
    async function assertStalledOnce(producer, id) {
      assert.equal((await producer.hash(id))[producer.fields.stalled], '1', 'stalled counter');
      const events = await producer.events(id);
      assert.equal(events.filter((e) => e.event === 'stalled').length, 1, 'stalled notifications');
      assert.equal(events.filter((e) => e.event === 'completed').length, 1, 'completed notifications');
    }

    test('lingo killed (SIGKILL) mid-job: a second lingo recovers and completes it', TIMEOUT, logged(async () => {
      const { producer, llm, lingoOptions } = await setUp('kill-lingo', 6000);
      const first = await Lingo.start(lingoOptions);
      const data = translationJob('survives a crash');
      const job = await producer.add(data);
      await waitFor('the job to reach the backend', async () => (await llm.requests()) === 1);
      await first.kill();
      await llm.setFaults({ latency_ms: 50 });
      const second = await Lingo.start(lingoOptions);

      assert.deepEqual(await producer.finished(job), expectedResult(data));
      assert.deepEqual(first.doneIds(), []);
      assert.deepEqual(await second.doneIdsWhen(1), [String(job.id)]);
      await assertStalledOnce(producer, job.id);
    }));

    test('lingo killed mid-job: a Node worker recovers and completes it', TIMEOUT, logged(async () => {
      const { queue, producer, llm, lingoOptions } = await setUp('lingo-to-node', 6000);
      const lingo = await Lingo.start(lingoOptions);
      const data = translationJob('handed to node');
      const job = await producer.add(data);
      await waitFor('the job to reach the backend', async () => (await llm.requests()) === 1);
      await lingo.kill();
      const node = await startNodeWorker({ protocol, port: s.redis.port, queue, concurrency: 1, handler: nodeResult });
      s.cleanup(() => node.close());

      assert.deepEqual(await producer.finished(job), nodeResult(data));
      assert.deepEqual(node.handled, [String(job.id)]);
      await assertStalledOnce(producer, job.id);
    }));

    test('a Node worker process killed mid-job: lingo recovers and completes it', TIMEOUT, logged(async () => {
      const { queue, producer, lingoOptions } = await setUp('node-to-lingo', 0);
      const node = await spawnHangingNodeWorker(protocol, s.redis.port, queue);
      const data = translationJob('handed to lingo');
      const job = await producer.add(data);
      await waitFor('the Node worker to take the job', () => node.took(job.id));
      node.child.kill('SIGKILL');
      await node.exited;
      const lingo = await Lingo.start(lingoOptions);

      assert.deepEqual(await producer.finished(job), expectedResult(data));
      assert.deepEqual(await lingo.doneIdsWhen(1), [String(job.id)]);
      await assertStalledOnce(producer, job.id);
    }));

    test('a job three times as long as the lock completes once, its lock renewed throughout', TIMEOUT, logged(async () => {
      const { producer, llm, lingoOptions } = await setUp('long', 12_000);
      const lingo = await Lingo.start(lingoOptions);
      const data = translationJob('a long one');
      const job = await producer.add(data);
      const lockKey = `${producer.base}${job.id}:lock`;
      const samples = [];
      let done = false;
      const finished = producer.finished(job).finally(() => { done = true; });
      while (!done) {
        samples.push({ at: Date.now(), pttl: await producer.redis.pttl(lockKey) });
        await sleep(250);
      }
      assert.deepEqual(await finished, expectedResult(data));

      const hash = await producer.hash(job.id);
      const [start, end] = [Number(hash.processedOn), Number(hash.finishedOn)];
      assert.ok(end - start >= 12_000, `ran ${end - start} ms`);
      const during = samples.filter((s) => s.at > start + 100 && s.at < end - 100);
      assert.ok(during.length >= 30, `${during.length} lock samples while running`);
      const gone = during.filter((s) => s.pttl <= 0);
      assert.deepEqual(gone, [], 'samples without a lock while the job ran');
      assert.ok(during.some((s) => s.at > start + 8000), 'lock still held long after its first 4 s');
      assert.equal(hash[producer.fields.stalled], undefined, 'stalled counter');
      const events = await producer.events(job.id);
      assert.equal(events.filter((e) => e.event === 'stalled').length, 0, 'stalled notifications');
      assert.equal(events.filter((e) => e.event === 'active').length, 1, 'runs');
      assert.equal(await llm.requests(), 1, 'backend calls');
      assert.deepEqual(await lingo.doneIdsWhen(1), [String(job.id)]);
    }));

    test('SIGTERM with 8 jobs in flight: lingo finishes them, takes no new one, exits 0', TIMEOUT, logged(async () => {
      const { producer, llm, lingoOptions } = await setUp('shutdown', 1000);
      const lingo = await Lingo.start({ ...lingoOptions, concurrency: 8 });
      const data = Array.from({ length: 9 }, (_, i) => translationJob(`in flight ${i}`));
      const jobs = [];
      for (const d of data) jobs.push(await producer.add(d));
      await waitFor('8 jobs at the backend', async () => (await llm.requests()) === 8);
      const signalledAt = Date.now();
      lingo.process.kill('SIGTERM');
      const exit = await lingo.exited;
      const exitedAt = Date.now();
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(exitedAt - signalledAt < 10_000, `exited ${exitedAt - signalledAt} ms after SIGTERM (grace 10 s)`);

      for (const [i, job] of jobs.slice(0, 8).entries()) {
        const hash = await producer.hash(job.id);
        assert.deepEqual(JSON.parse(hash.returnvalue ?? 'null'), expectedResult(data[i]), `job ${job.id} completed`);
        assert.ok(Number(hash.finishedOn) <= exitedAt, `job ${job.id} finished before exit`);
      }
      const ninth = await producer.hash(jobs[8].id);
      assert.equal(ninth.processedOn, undefined, 'the 9th job was not started');
      const counts = await producer.counts();
      assert.equal(counts.completed, 8);
      assert.equal(counts.active, 0);
      assert.equal(counts.waiting, 1);
      assert.equal(await llm.requests(), 8, 'backend calls');

      // Nothing was lost: the next worker runs the 9th.
      await Lingo.start(lingoOptions);
      assert.deepEqual(await producer.finished(jobs[8]), expectedResult(data[8]));
    }));
  });
}
