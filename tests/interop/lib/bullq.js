'use strict';
// The npm `bull` v4 producer, unchanged, behind the small interface the tests
// share with bullmqq.js: add, finished, counts, job hashes, pause, and the
// notifications a bull user can observe (its pub/sub channels).

const Queue = require('bull');
const Redis = require('ioredis');
const { sleep } = require('./redis');

// Tests wait on hundreds of jobs at once; each wait adds listeners to shared emitters.
require('node:events').defaultMaxListeners = 0;

class BullProducer {
  protocol = 'bull';
  /** Job hash field names that differ between the libraries. */
  fields = { attempts: 'attemptsMade', stalled: 'stalledCounter' };

  /** Opens queue `name` on `redis` (a RedisServer) and starts recording its pub/sub notifications. */
  static async open(redis, name) {
    const producer = new BullProducer(redis, name);
    await producer.queue.isReady();
    await producer.#listen();
    return producer;
  }

  constructor(redis, name) {
    this.name = name;
    this.base = `bull:${name}:`;
    this.queue = new Queue(name, redis.url);
    this.queue.setMaxListeners(0);
    this.redis = redis.client();
    this.subscriber = new Redis(redis.port, '127.0.0.1');
    this.notes = [];
  }

  /**
   * Records {event, jobId, at, ...} for completed/failed (payload JSON),
   * active@token, stalled@, waiting@token (payload = id) and delayed (payload = due ms).
   */
  async #listen() {
    const b = this.base;
    this.subscriber.on('message', (channel, message) => {
      const event = channel.slice(b.length);
      if (event === 'delayed') this.notes.push({ event, at: Date.now(), due: Number(message) });
      else {
        const { jobId, val } = JSON.parse(message);
        this.notes.push({ event, jobId: String(jobId), at: Date.now(), val });
      }
    });
    this.subscriber.on('pmessage', (_pattern, channel, id) => {
      const event = channel.slice(b.length).split('@')[0];
      this.notes.push({ event, jobId: id, at: Date.now() });
    });
    await this.subscriber.subscribe(`${b}completed`, `${b}failed`, `${b}delayed`);
    await this.subscriber.psubscribe(`${b}active@*`, `${b}stalled@*`, `${b}waiting@*`);
  }

  /** Notifications seen so far, optionally of one job; settles in-flight messages first. */
  async events(jobId) {
    await sleep(50);
    return this.notes.filter((n) => jobId === undefined || n.jobId === String(jobId));
  }

  /** Named explicitly, so that a string `data` stays data (bull reads a leading string as the name). */
  add(data, opts) { return this.queue.add('__default__', data, opts); }

  /** `items`: [{data, opts}]. */
  addBulk(items) { return this.queue.addBulk(items); }

  /** The producer's own wait: `job.finished()`. */
  finished(job) { return job.finished(); }

  /** getJobCounts(): {waiting, active, completed, failed, delayed, paused}. */
  counts() { return this.queue.getJobCounts(); }

  /** The job's Redis hash as stored (all values strings); {} when deleted. */
  hash(id) { return this.redis.hgetall(this.base + id); }

  pause() { return this.queue.pause(); }
  resume() { return this.queue.resume(); }

  async close() {
    this.subscriber.disconnect();
    await this.queue.close();
  }
}

module.exports = { open: (redis, name) => BullProducer.open(redis, name) };
