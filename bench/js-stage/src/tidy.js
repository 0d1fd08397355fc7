// A post stage in JavaScript: the bench's stand-in for what a plugin author
// would write. It tidies a translation (collapses whitespace, trims it, drops
// quotes the model wrapped it in) and passes when there is nothing to change.
// The exports follow `world stage` in wit/pipeline.wit; componentize-js maps
// a variant to `{ tag, val }` and a thrown value to the `err` of a result.

export function init(config) {}

export function process(config, request) {
  if (request.phase !== 'post' || request.translation === undefined) {
    return { tag: 'pass' };
  }
  let tidy = request.translation.replace(/\s+/g, ' ').trim();
  if (tidy.length > 1 && tidy.startsWith('"') && tidy.endsWith('"')) {
    tidy = tidy.slice(1, -1);
  }
  return tidy === request.translation ? { tag: 'pass' } : { tag: 'rewritten', val: tidy };
}

export function remember(config, request, translation, producer) {}
