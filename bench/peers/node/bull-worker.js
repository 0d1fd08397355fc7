'use strict';
// The bull Node peer: npm `bull` v4's Queue#process, doing what lingo's
// cache-hit pipeline does per job (one Redis GET, the same return value).
// Usage: node bull-worker.js --redis redis://127.0.0.1:PORT --queue NAME --concurrency N
// Prints `ready` once connected; closes on SIGTERM.

const Queue = require('bull');
const Redis = require('ioredis');
const { parseArgs, translate } = require('./args');

const args = parseArgs({ redis: 'redis://127.0.0.1:6379', queue: 'translation-jobs', concurrency: 4 });
const kv = new Redis(args.redis);
const queue = new Queue(args.queue, args.redis);
queue.on('error', (err) => console.error(`queue error: ${err.message}`));
queue.process(args.concurrency, (job) => translate(kv, job.data));

queue.isReady().then(() => console.log('ready'));
process.on('SIGTERM', async () => {
  await queue.close();
  kv.disconnect();
  process.exit(0);
});
