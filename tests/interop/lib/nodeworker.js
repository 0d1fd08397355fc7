'use strict';
// A Node worker of the real npm library, sharing the queue with lingo.
// In-process: `startNodeWorker(...)` records the ids it handled. As a child
// process (`node nodeworker.js <protocol> <redis port> <queue>`): takes jobs
// and never finishes them, printing `active <id>` per job, to be SIGKILLed.

const Queue = require('bull');
const { Worker } = require('bullmq');

/**
 * Starts a worker on `queue`. `handler(data, id)` gives the return value.
 * Returns {handled: [ids], close()}.
 */
async function startNodeWorker({ protocol, port, queue, concurrency = 8, lockDuration = 4000, stalledInterval = 5000, handler }) {
  const handled = [];
  const run = async (id, data) => {
    handled.push(String(id));
    return handler(data, String(id));
  };
  if (protocol === 'bull') {
    const q = new Queue(queue, `redis://127.0.0.1:${port}`, { settings: { lockDuration, stalledInterval } });
    q.process(concurrency, (job) => run(job.id, job.data));
    await q.isReady();
    return { handled, close: () => q.close() };
  }
  const worker = new Worker(queue, (job) => run(job.id, job.data),
    { connection: { host: '127.0.0.1', port }, concurrency, lockDuration, stalledInterval });
  await worker.waitUntilReady();
  return { handled, close: () => worker.close() };
}

if (require.main === module) {
  const [protocol, port, queue] = process.argv.slice(2);
  startNodeWorker({
    protocol, port: Number(port), queue,
    handler: (_data, id) => {
      process.stdout.write(`active ${id}\n`);
      return new Promise(() => {}); // never finishes: the process is killed mid-job
    },
  }).then(() => process.stdout.write('ready\n'));
}

module.exports = { startNodeWorker };
