'use strict';
// The bench's producer: the real npm `bull` / `bullmq` Queue, as the
// platform's gateway uses it. Jobs are {text, targetLanguages: [target]},
// texts taken in turn from a file of lines (one per line).
//
//   node produce.js fill   --protocol P --redis URL --queue Q --lines FILE --count N [--paused 1]
//   node produce.js resume --protocol P --redis URL --queue Q
//   node produce.js rate   --protocol P --redis URL --queue Q --lines FILE --rate R --seconds S
//
// `fill` pauses the queue first when asked, then adds N jobs with addBulk.
// `rate` adds R jobs/s for S seconds in an open loop (a batch every tick,
// each job stamped when added) and prints {"sent", "seconds"} as JSON.

const fs = require('node:fs');
const { parseArgs } = require('./args');

const [command] = process.argv.splice(2, 1);
const args = parseArgs({
  protocol: 'bullmq', redis: 'redis://127.0.0.1:6379', queue: 'translation-jobs',
  lines: '', count: 0, paused: 0, rate: 0, seconds: 0, target: 'en',
});

/** The library's queue behind one shape: addBulk(datas), pause, resume, close. */
function openQueue() {
  if (args.protocol === 'bull') {
    const Queue = require('bull');
    const queue = new Queue(args.queue, args.redis);
    return {
      addBulk: (datas) => queue.addBulk(datas.map((data) => ({ name: '__default__', data }))),
      pause: () => queue.pause(),
      resume: () => queue.resume(),
      close: () => queue.close(),
    };
  }
  const { Queue } = require('bullmq');
  const url = new URL(args.redis);
  const queue = new Queue(args.queue, { connection: { host: url.hostname, port: Number(url.port) } });
  return {
    addBulk: (datas) => queue.addBulk(datas.map((data) => ({ name: 'translate', data }))),
    pause: () => queue.pause(),
    resume: () => queue.resume(),
    close: () => queue.close(),
  };
}

/**
 * Job data for the i-th job: the lines file taken in turn. A `.jsonl` file
 * holds whole job data, one JSON object per line; any other, one text per line.
 */
function jobData() {
  const lines = fs.readFileSync(args.lines, 'utf8').split('\n').filter((l) => l.length > 0);
  if (args.lines.endsWith('.jsonl')) return (i) => JSON.parse(lines[i % lines.length]);
  return (i) => ({ text: lines[i % lines.length], targetLanguages: [args.target] });
}

async function fill(queue) {
  if (args.paused) await queue.pause();
  const data = jobData();
  for (let start = 0; start < args.count; start += 1000) {
    const end = Math.min(start + 1000, args.count);
    await queue.addBulk(Array.from({ length: end - start }, (_, k) => data(start + k)));
  }
}

async function rate(queue) {
  const data = jobData();
  const total = Math.round(args.rate * args.seconds);
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const pending = [];
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(elapsed() * args.rate)) - sent;
    if (due > 0) {
      pending.push(queue.addBulk(Array.from({ length: due }, (_, k) => data(sent + k))));
      sent += due;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(pending);
  console.log(JSON.stringify({ sent, seconds: elapsed() }));
}

async function main() {
  const queue = openQueue();
  if (command === 'fill') await fill(queue);
  else if (command === 'resume') await queue.resume();
  else if (command === 'rate') await rate(queue);
  else throw new Error(`unknown command ${command}: fill, resume or rate`);
  await queue.close();
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
