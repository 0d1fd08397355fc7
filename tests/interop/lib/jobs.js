'use strict';
// Job data the tests send and the result lingo must return for it. The
// stand-in LLM server answers `[<target>] <text>` unless the text is in its
// small phrase table (e.g. "ㅋㅋㅋ" → en "lol", ja "www").

const PHRASES = { 'ㅋㅋㅋ': { en: 'lol', ja: 'www' } };

/** Job data `{text, targetLanguages[, sourceLanguage]}`. */
function translationJob(text, targetLanguages = ['en'], sourceLanguage) {
  return sourceLanguage === undefined ? { text, targetLanguages } : { text, targetLanguages, sourceLanguage };
}

/** The exact return value lingo's one-stage (`vllm`) pipeline gives for `data`. */
function expectedResult(data) {
  const translations = {};
  const providers = {};
  for (const lang of data.targetLanguages) {
    translations[lang] = PHRASES[data.text]?.[lang] ?? `[${lang}] ${data.text}`;
    providers[lang] = 'vllm';
  }
  return { translations, sourceLanguage: data.sourceLanguage ?? null, providers };
}

/** Awaits the producer's own wait for `job`: {status: 'completed', value} or {status: 'failed', reason}. */
async function settle(producer, job) {
  try {
    return { status: 'completed', value: await producer.finished(job) };
  } catch (err) {
    return { status: 'failed', reason: err.message };
  }
}

/** A unique queue name per test, so leftovers of one test never reach another. */
let counter = 0;
function queueName(label) {
  counter += 1;
  return `${label}-${process.pid}-${counter}`;
}

module.exports = { translationJob, expectedResult, settle, queueName };
