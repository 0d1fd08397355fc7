import { test } from 'node:test';
import assert from 'node:assert/strict';

import { replaceTerms } from './terms.js';
import { exportStage, StageError, meta, pass, request as requestFor } from './lingo/index.js';

test('replaces every term', () => {
  assert.equal(replaceTerms('gg wp gg', { gg: 'good game' }), 'good game wp good game');
});

test('leaves a line without terms alone', () => {
  assert.equal(replaceTerms('hello', { gg: 'good game' }), undefined);
});

test('a thrown error reaches lingo as the stage error, with its message', () => {
  const stage = exportStage<{}>({
    process() {
      throw new Error('no translation for this line');
    },
  });
  const request = requestFor('translate', 'x');
  assert.throws(() => stage.process('{}', request), (e) => JSON.stringify(e) === '{"tag":"fatal","val":"no translation for this line"}');
  const limited = exportStage<{}>({
    process() {
      throw StageError.rateLimited('slow down', 1500);
    },
  });
  assert.throws(() => limited.process('{}', request), (e: any) => e.tag === 'rate-limited' && e.val.retryAfterMs === 1500n);
  assert.deepEqual(exportStage<{}>({ process: () => pass() }).process('{}', request), { tag: 'pass' });
});

test('metadata reads the job data\'s other fields', () => {
  const request = requestFor('pre', 'hi', { metadata: '{"channel":"lck"}' });
  assert.equal(meta(request, 'channel'), 'lck');
  assert.equal(meta(request, 'streamer'), undefined);
});
