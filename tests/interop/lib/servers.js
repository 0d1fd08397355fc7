'use strict';
// The servers and the teardown that the tests of one `describe` share.
// `servers(options)`, called inside `describe`, registers node:test hooks that
// start a redis-server (and, with `llm`, one stand-in LLM server) for the
// whole block, optionally FLUSHALL it before each test, and tear everything
// down in one fixed order: stop every lingo (killing any that will not stop),
// run the registered cleanups newest first (producers, Node workers), then
// stop the LLM server and Redis last. Keeping that order in one place means
// no producer or worker outlives the servers it talks to.

const { before, beforeEach, after } = require('node:test');
const { RedisServer } = require('./redis');
const { DevLlm } = require('./devllm');
const { Lingo } = require('./lingo');
const { queueName } = require('./jobs');

/**
 * Options: `llm` (options for `DevLlm.start`, e.g. `{ latencyMs: 0 }`; no
 * stand-in when absent) and `flushEach` (FLUSHALL before every test).
 * Returns {redis, llm, cleanup(fn), producer(open, label)}; `redis` and
 * `llm` are set once the block's `before` hooks run.
 */
function servers({ llm: llmOptions, flushEach = false } = {}) {
  let redis;
  let llm;
  const cleanups = [];

  before(async () => {
    redis = await RedisServer.start();
    if (llmOptions) llm = await DevLlm.start(llmOptions);
  });

  if (flushEach) beforeEach(() => redis.flushall());

  after(async () => {
    // Every step runs even if one before it threw (a producer that cannot
    // close after a Redis restart must not leave redis-server running); the
    // first error is rethrown at the end.
    const steps = [() => Lingo.stopAll(), () => Lingo.killAll(), ...cleanups.reverse(), () => llm?.stop(), () => redis?.stop()];
    let first;
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        first ??= err;
      }
    }
    if (first) throw first;
  });

  return {
    get redis() { return redis; },
    get llm() { return llm; },

    /** Runs `fn` at teardown, after every lingo has stopped (the latest registered first). */
    cleanup(fn) { cleanups.push(fn); },

    /** Opens a producer (`open` of bullq.js or bullmqq.js) on a fresh queue named after `label`; closed at teardown. */
    async producer(open, label) {
      const queue = queueName(label);
      const producer = await open(redis, queue);
      cleanups.push(() => producer.close());
      return { queue, producer };
    },
  };
}

module.exports = { servers };
