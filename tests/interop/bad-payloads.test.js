'use strict';
// The bad-payload catalogue: every malformed job fails at once (one attempt,
// even with attempts: 3) with a failedReason that says what is wrong, never
// reaches the backend, and lingo goes on with the good jobs around it.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const { Lingo, logged } = require('./lib/lingo');
const { translationJob, expectedResult, settle } = require('./lib/jobs');
const { servers } = require('./lib/servers');

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
      assert.equal(counts.completed, goodJobs.length);
      assert.equal(await s.llm.requests(), goodJobs.length, 'only good jobs reach the backend');
      assert.equal(lingo.exit, null, 'lingo still running');
      // And it still takes work.
      const last = await producer.add(translationJob('after all that'));
      assert.deepEqual(await producer.finished(last), expectedResult(translationJob('after all that')));
    }));
  });
}
