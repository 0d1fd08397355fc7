'use strict';
// The bad-payload catalogue: every malformed job fails at once (one attempt,
// even with attempts: 3) with a failedReason that says what is wrong, never
// reaches the backend, and lingo goes on with the good jobs around it. Some
// come through the real npm producers; the rest are written raw into the
// job hash, as a buggy or hostile producer could (bytes that are not UTF-8,
// no `data` at all, JSON cut short).

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const { Lingo, logged } = require('./lib/lingo');
const { translationJob, expectedResult, settle } = require('./lib/jobs');
const { servers } = require('./lib/servers');
const { waitFor } = require('./lib/redis');

const LANGS = ['en', 'ja', 'ko', 'es', 'fr', 'de', 'it', 'pt', 'ru', 'zh', 'ar', 'hi', 'th', 'vi', 'id', 'tr', 'pl'];

/**
 * [label, data, what the reason must say]. `reason` may be a function of the
 * data as the producer stored it: bull stores a null payload as `{}`.
 */
const CATALOGUE = [
  ['data is a string', 'hello', /must be an object.*found a string/],
  ['data is null', null, (stored) => (stored === 'null' ? /must be an object.*found null/ : /no `text`/)],
  ['data is an array', ['hello', ['en']], /must be an object.*found an array/],
  ['no text', { targetLanguages: ['en'] }, /no `text`/],
  ['text is a number', { text: 42, targetLanguages: ['en'] }, /`text` must be a string, found a number/],
  ['text is empty', { text: '', targetLanguages: ['en'] }, /`text` is empty/],
  ['text is 5 KB', { text: 'x'.repeat(5120), targetLanguages: ['en'] }, /`text` is 5120 bytes; the limit is 4096/],
  ['no targetLanguages', { text: 'hi' }, /no `targetLanguages`/],
  ['targetLanguages is a string', { text: 'hi', targetLanguages: 'en' }, /`targetLanguages` must be an array/],
  ['targetLanguages is empty', { text: 'hi', targetLanguages: [] }, /`targetLanguages` is empty/],
  ['a target is not a language code', { text: 'hi', targetLanguages: ['english'] }, /`targetLanguages\[0\]` is `english`, which is not a language code/],
  ['a target is a number', { text: 'hi', targetLanguages: ['en', 7] }, /`targetLanguages\[1\]` must be a language code, found a number/],
  ['17 targets', { text: 'hi', targetLanguages: LANGS }, /`targetLanguages` has 17 languages; the limit is 16/],
  ['sourceLanguage is not a code', { text: 'hi', targetLanguages: ['en'], sourceLanguage: 'korean' }, /`sourceLanguage` is `korean`/],
  ['data is a number', 42, /must be an object.*found a number/],
  ['data is a boolean', true, /must be an object.*found a boolean/],
  ['text is an object', { text: { en: 'hi' }, targetLanguages: ['en'] }, /`text` must be a string, found an object/],
  ['text is only spaces', { text: ' \t\n ', targetLanguages: ['en'] }, /`text` is empty/],
  ['text has a lone surrogate', { text: 'a\ud800b', targetLanguages: ['en'] }, /lone UTF-16 surrogate/],
  ['text is 1 MB', { text: 'y'.repeat(1 << 20), targetLanguages: ['en'] }, /`text` is 1048576 bytes; the limit is 4096/],
  ['targetLanguages is an object', { text: 'hi', targetLanguages: { en: true } }, /`targetLanguages` must be an array/],
  ['a target is null', { text: 'hi', targetLanguages: [null] }, /`targetLanguages\[0\]` must be a language code, found null/],
  ['a target is empty', { text: 'hi', targetLanguages: [''] }, /`targetLanguages\[0\]` is ``, which is not a language code/],
  ['a target has a path in it', { text: 'hi', targetLanguages: ['../en'] }, /which is not a language code/],
  ['256 targets', { text: 'hi', targetLanguages: Array.from({ length: 256 }, (_, i) => `x${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`) }, /the limit is 16/],
  ['sourceLanguage is a number', { text: 'hi', targetLanguages: ['en'], sourceLanguage: 5 }, /`sourceLanguage` must be a language code, found a number/],
];

/** [label, bytes written over the job's `data` (null: the field removed), what the reason must say]. */
const RAW = [
  ['data is not UTF-8', Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), /not UTF-8 text: byte 9 of 13/],
  ['data is Latin-1', Buffer.from('{"text":"caf\xe9","targetLanguages":["en"]}', 'latin1'), /not UTF-8 text/],
  ['no data field', null, /no `data` field/],
  ['data is plain text', Buffer.from('hello there'), /job data is not JSON/],
  ['data is JSON cut short', Buffer.from('{"text":"hi","targetLang'), /job data is not JSON/],
  ['data is empty', Buffer.from(''), /job data is not JSON/],
  ['data has trailing bytes', Buffer.from('{"text":"hi","targetLanguages":["en"]} x'), /job data is not JSON/],
  ['data has a lone surrogate escape', Buffer.from('{"text":"\\udc00","targetLanguages":["en"]}'), /lone UTF-16 surrogate/],
];

for (const protocol of ['bull', 'bullmq']) {
  const { open } = require(`./lib/${protocol}q`);

  describe(`${protocol}: bad payloads`, () => {
    const s = servers({ llm: { latencyMs: 0 } });
    let producer;
    let lingo;

    before(async () => {
      let queue;
      ({ queue, producer } = await s.producer(open, 'bad'));
      lingo = await Lingo.start({ redisUrl: s.redis.url, protocol, queue, llmUrl: s.llm.url });
    });

    test('each bad payload fails after one attempt with a reason naming the problem; good jobs around them complete', logged(async () => {
      const good = (i) => translationJob(`good ${i}`);
      const goodJobs = [await producer.add(good(0), { attempts: 3 })];
      const badJobs = [];
      for (const [label, data, reason] of CATALOGUE) {
        badJobs.push({ label, reason, job: await producer.add(data, { attempts: 3, backoff: 100 }) });
        goodJobs.push(await producer.add(good(goodJobs.length), { attempts: 3 }));
      }

      for (const { label, reason, job } of badJobs) {
        const outcome = await settle(producer, job);
        const hash = await producer.hash(job.id);
        const want = typeof reason === 'function' ? reason(hash.data) : reason;
        assert.equal(outcome.status, 'failed', label);
        assert.match(outcome.reason, want, label);
        assert.equal(hash.failedReason, outcome.reason, `${label}: failedReason`);
        assert.equal(hash[producer.fields.attempts], '1', `${label}: attempts made`);
        assert.equal(JSON.parse(hash.stacktrace).length, 1, `${label}: stacktrace`);
        const events = await producer.events(job.id);
        assert.equal(events.filter((e) => e.event === 'active').length, 1, `${label}: runs`);
        assert.equal(events.filter((e) => e.event === 'failed').length, 1, `${label}: failed notifications`);
      }
      for (const [i, job] of goodJobs.entries()) assert.deepEqual(await producer.finished(job), expectedResult(good(i)));

      const counts = await producer.counts();
      assert.equal(counts.failed, CATALOGUE.length);
      assert.ok(CATALOGUE.length + RAW.length >= 30, 'at least 30 malformed jobs in all');
      assert.equal(counts.completed, goodJobs.length);
      assert.equal(await s.llm.requests(), goodJobs.length, 'only good jobs reach the backend');
      assert.equal(lingo.exit, null, 'lingo still running');
      // And it still takes work.
      const last = await producer.add(translationJob('after all that'));
      assert.deepEqual(await producer.finished(last), expectedResult(translationJob('after all that')));
    }));

    test('a job hash written raw, with data that cannot be decoded, fails at once and the queue goes on', logged(async () => {
      const jobs = [];
      for (const [label, bytes, reason] of RAW) {
        // Delayed, so its hash can be rewritten before lingo may take it.
        const job = await producer.add(translationJob(label), { attempts: 3, delay: 1500 });
        const key = producer.base + job.id;
        if (bytes === null) await producer.redis.hdel(key, 'data');
        else await producer.redis.hset(key, 'data', bytes);
        jobs.push({ label, reason, job });
      }
      const good = await producer.add(translationJob('behind the raw ones'), { delay: 1600 });
      assert.deepEqual(await producer.finished(good), expectedResult(translationJob('behind the raw ones')));
      // The hash, not the producer's own wait: npm bull's `finished()`
      // parses the data itself and rejects with its own JSON error.
      for (const { label, reason, job } of jobs) {
        const hash = await waitFor(`${label} to fail`, async () => {
          const h = await producer.hash(job.id);
          return h.failedReason ? h : null;
        });
        const failed = await producer.redis.zscore(`${producer.base}failed`, String(job.id));
        assert.notEqual(failed, null, `${label}: in failed`);
        assert.match(hash.failedReason, reason, label);
        assert.equal(hash[producer.fields.attempts], '1', `${label}: one attempt, whatever its attempts`);
      }
      assert.equal(lingo.exit, null, 'lingo still running');
    }));
  });
}
