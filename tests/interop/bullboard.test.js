'use strict';
// Bull Board (npm `@bull-board/api` + `@bull-board/express`, pinned) pointed
// at queues lingo works, read through the board's own JSON API, as an
// operator's dashboard would show them: lingo listed as the queue's worker,
// completed jobs with their return value, failed ones with the reason and a
// stack naming the stage, rate-limited ones with why they wait, and each
// job's Logs holding the stage trace `lingo try` prints. (The LLM server is
// lingo's stand-in.)

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const express = require('express');
const { createBullBoard } = require('@bull-board/api');
const { BullAdapter } = require('@bull-board/api/bullAdapter');
const { BullMQAdapter } = require('@bull-board/api/bullMQAdapter');
const { ExpressAdapter } = require('@bull-board/express');
const { waitFor } = require('./lib/redis');
const { Lingo, logged } = require('./lib/lingo');
const { translationJob, expectedResult, settle } = require('./lib/jobs');
const { servers } = require('./lib/servers');

/** A Bull Board for `queue` on a free port; `get(path)` reads its JSON API. */
async function board(protocol, queue) {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/');
  const adapter = protocol === 'bull' ? new BullAdapter(queue) : new BullMQAdapter(queue);
  createBullBoard({ queues: [adapter], serverAdapter });
  const app = express();
  app.use('/', serverAdapter.getRouter());
  const server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    async get(path) {
      const response = await fetch(base + path);
      assert.equal(response.status, 200, `GET ${path}`);
      return response.json();
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

for (const protocol of ['bull', 'bullmq']) {
  const { open } = require(`./lib/${protocol}q`);

  describe(`${protocol}: Bull Board sees what lingo does`, () => {
    const s = servers({ llm: { latencyMs: 0 } });

    test('workers, completed, failed and rate-limited jobs, and each job\'s stage trace as its Logs', { timeout: 60_000 }, logged(async () => {
      const { queue, producer } = await s.producer(open, 'board');
      await Lingo.start({ redisUrl: s.redis.url, protocol, queue, llmUrl: s.llm.url });
      const dashboard = await board(protocol, producer.queue);
      s.cleanup(() => dashboard.close());
      const jobs = (status) => dashboard.get(`/api/queues?activeQueue=${encodeURIComponent(queue)}&status=${status}&page=1&jobsPerPage=50`)
        .then((body) => body.queues.find((q) => q.name === queue));

      // lingo is listed as the queue's worker.
      const workers = await dashboard.get(`/api/queues/${encodeURIComponent(queue)}/workers`);
      assert.ok(Array.isArray(workers) ? workers.length >= 1 : workers.workers?.length >= 1, `workers: ${JSON.stringify(workers)}`);

      // Completed: the return value, and the stage trace as the job's log.
      const good = translationJob('gg everyone');
      const done = await producer.add(good);
      assert.equal((await settle(producer, done)).status, 'completed');
      const completed = (await jobs('completed')).jobs.find((j) => String(j.id) === String(done.id));
      assert.deepEqual(completed.returnValue, expectedResult(good));
      const logs = await dashboard.get(`/api/queues/${encodeURIComponent(queue)}/${done.id}/logs`);
      const lines = Array.isArray(logs) ? logs : logs.logs;
      assert.ok(lines.some((l) => /^vllm\s+translate\s+en\s+translated\s+[\d.]+ ms$/.test(l)), `logs: ${JSON.stringify(lines)}`);

      // Failed: the reason and a stack that names the stage.
      await s.llm.setFaults({ fault: 'status:400' });
      const doomed = await producer.add(translationJob('this one fails'));
      assert.equal((await settle(producer, doomed)).status, 'failed');
      const failed = (await jobs('failed')).jobs.find((j) => String(j.id) === String(doomed.id));
      assert.match(failed.failedReason, /stage `vllm`.*answered 400/);
      assert.ok(failed.stacktrace.some((line) => line.includes('stage `vllm`')), `stack: ${JSON.stringify(failed.stacktrace)}`);

      // Rate limited: waiting in delayed, and why.
      await s.llm.setFaults({ fault: 'status:429:60' });
      const limited = await producer.add(translationJob('slow down'));
      await waitFor('the job to wait in delayed', async () => (await producer.counts()).delayed === 1, { ms: 10_000 });
      const delayed = (await jobs('delayed')).jobs.find((j) => String(j.id) === String(limited.id));
      assert.match(delayed.failedReason, /rate limited; runs again in 60\.0 s: .*429/);
      await s.llm.setFaults({ fault: 'none' });
    }));
  });
}
