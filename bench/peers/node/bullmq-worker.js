'use strict';
// The BullMQ Node peer: npm `bullmq`'s Worker, doing what lingo's
// pipeline does per job: a Redis GET (cache hit), or with --llm URL a chat request
// to that OpenAI-compatible server.
// Usage: node bullmq-worker.js --redis redis://127.0.0.1:PORT --queue NAME --concurrency N [--llm URL]
// Prints `ready` once connected; closes on SIGTERM.

const { Worker } = require('bullmq');
const Redis = require('ioredis');
const { parseArgs, work } = require('./args');

const args = parseArgs({ redis: 'redis://127.0.0.1:6379', queue: 'translation-jobs', concurrency: 4, llm: '' });
const kv = new Redis(args.redis);
const worker = new Worker(args.queue, work(args, kv), {
  connection: new Redis(args.redis, { maxRetriesPerRequest: null }),
  concurrency: args.concurrency,
});
worker.on('error', (err) => console.error(`worker error: ${err.message}`));

worker.waitUntilReady().then(() => console.log('ready'));
process.on('SIGTERM', async () => {
  await worker.close();
  kv.disconnect();
  process.exit(0);
});
