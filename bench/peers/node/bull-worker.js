'use strict';
// The bull Node peer: npm `bull` v4's Queue#process, doing what lingo's
// pipeline does per job: a Redis GET (cache hit), or with --llm URL a chat request
// to that OpenAI-compatible server.
// Usage: node bull-worker.js --redis redis://127.0.0.1:PORT --queue NAME --concurrency N [--llm URL]
// Prints `ready` once connected; closes on SIGTERM.

const Queue = require('bull');
const Redis = require('ioredis');
const { parseArgs, work } = require('./args');

const args = parseArgs({ redis: 'redis://127.0.0.1:6379', queue: 'translation-jobs', concurrency: 4, llm: '' });
const kv = new Redis(args.redis);
const queue = new Queue(args.queue, args.redis);
queue.on('error', (err) => console.error(`queue error: ${err.message}`));
queue.process(args.concurrency, work(args, kv));

queue.isReady().then(() => console.log('ready'));
process.on('SIGTERM', async () => {
  await queue.close();
  kv.disconnect();
  process.exit(0);
});
