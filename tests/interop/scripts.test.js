'use strict';
// lingo's bullmq worker runs BullMQ's own Lua scripts, copied from the
// pinned npm package: the copies must be the package's, byte for byte, so
// that lingo and a Node worker on one queue agree on every key they touch.
// After upgrading `bullmq`, `node lib/bullmqscripts.js` copies them again.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { SCRIPTS, VENDORED, packaged } = require('./lib/bullmqscripts');

for (const file of SCRIPTS) {
  test(`${file}.lua is the pinned bullmq package's script`, () => {
    const ours = fs.readFileSync(path.join(VENDORED, `${file}.lua`), 'utf8');
    assert.ok(ours === packaged(file), `${file}.lua differs from bullmq's: run node lib/bullmqscripts.js`);
  });
}

test('lingo vendors no bullmq script it does not list', () => {
  const files = fs.readdirSync(VENDORED).filter((f) => f.endsWith('.lua')).map((f) => f.replace(/\.lua$/, ''));
  assert.deepEqual(files.sort(), [...SCRIPTS].sort());
});
