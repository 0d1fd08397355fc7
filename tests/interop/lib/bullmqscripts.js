'use strict';
// The BullMQ Lua scripts lingo's bullmq worker runs, as the pinned npm
// package ships them (includes expanded), and where lingo keeps its copies.
// `node lib/bullmqscripts.js` writes the copies; `scripts.test.js` checks
// them byte for byte.

const path = require('node:path');

/** The scripts lingo runs, by their file names in the package. */
const SCRIPTS = [
  'moveToActive-11',
  'moveToFinished-14',
  'moveToDelayed-11',
  'retryJob-11',
  'extendLocks-1',
  'moveStalledJobsToWait-9',
];

const VENDORED = path.join(__dirname, '../../../runtime/queue/src/bullmq/scripts');

/** The package's text of script `file`. */
function packaged(file) {
  const name = file.replace(/-\d+$/, '');
  return require(`bullmq/dist/cjs/scripts/${file}.js`)[name].content;
}

if (require.main === module) {
  const fs = require('node:fs');
  for (const file of SCRIPTS) fs.writeFileSync(path.join(VENDORED, `${file}.lua`), packaged(file));
  console.log(`wrote ${SCRIPTS.length} scripts to ${VENDORED}`);
}

module.exports = { SCRIPTS, VENDORED, packaged };
