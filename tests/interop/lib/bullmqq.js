'use strict';
// The npm `bullmq` v6 producer, unchanged, behind the interface of bullq.js:
// a Queue plus one QueueEvents (what `waitUntilFinished` listens on); the
// notifications are the entries of the queue's events stream.

const { Queue, QueueEvents } = require('bullmq');
const { waitFor } = require('./redis');

// Tests wait on hundreds of jobs at once; each wait adds listeners to shared emitters.
require('node:events').defaultMaxListeners = 0;

class BullMqProducer {
  protocol = 'bullmq';
  fields = { attempts: 'atm', stalled: 'stc' };

  /** Opens queue `name` and a QueueEvents that is already reading the stream. */
  static async open(redis, name) {
    const producer = new BullMqProducer(redis, name);
    await producer.queue.waitUntilReady();
    await producer.queueEvents.waitUntilReady();
    // Its XREAD starts at `$`: wait until it blocks, so no later event is missed.
    await waitFor('QueueEvents to block on XREAD', () => producer.queueEvents.blocking);
    return producer;
  }

  constructor(redis, name) {
    this.name = name;
    this.base = `bull:${name}:`;
    this.queue = new Queue(name, { connection: redis.connection });
    this.queueEvents = new QueueEvents(name, { connection: redis.connection });
    this.queueEvents.setMaxListeners(0);
    this.queueEvents.on('error', (err) => { this.queueEventsError = err; });
    this.redis = redis.client();
  }

  /** Events stream entries as {event, jobId, at (ms, from the entry id), ...fields}. */
  async events(jobId) {
    const entries = await this.redis.xrange(`${this.base}events`, '-', '+');
    return entries
      .map(([id, flat]) => {
        const fields = {};
        for (let i = 0; i < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
        return { ...fields, at: Number(id.split('-')[0]) };
      })
      .filter((e) => jobId === undefined || e.jobId === String(jobId));
  }

  add(data, opts) { return this.queue.add('translate', data, opts); }

  /** `items`: [{data, opts}]. */
  addBulk(items) { return this.queue.addBulk(items.map((item) => ({ name: 'translate', ...item }))); }

  /** The producer's own wait: `job.waitUntilFinished(queueEvents)`. */
  finished(job) { return job.waitUntilFinished(this.queueEvents); }

  /** getJobCounts() of every state. */
  counts() { return this.queue.getJobCounts(); }

  hash(id) { return this.redis.hgetall(this.base + id); }

  pause() { return this.queue.pause(); }
  resume() { return this.queue.resume(); }

  async close() {
    await this.queueEvents.close();
    await this.queue.close();
  }
}

module.exports = { open: (redis, name) => BullMqProducer.open(redis, name) };
