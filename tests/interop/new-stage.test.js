'use strict';
// `lingo new stage` as a plugin author meets it: a project written outside
// this repository, in Rust and in TypeScript, built and tested with the
// template's own commands, then run through `lingo try` and through a real
// bull job, its translator the stand-in LLM server (not a model).

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Lingo, lingoBin, logged } = require('./lib/lingo');
const { waitFor } = require('./lib/redis');
const { servers } = require('./lib/servers');
const { open } = require('./lib/bullq');

/** Each template's own commands, as its README gives them. */
const LANGS = {
  rust: [['cargo', ['test', '--quiet']], ['cargo', ['build', '--release', '--target', 'wasm32-wasip2']]],
  ts: [['npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']], ['npm', ['test']], ['npm', ['run', 'build']]],
};

function run(command, args, options = {}) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (err) {
    throw new Error(`${command} ${args.join(' ')} failed:\n${err.stdout}\n${err.stderr}`);
  }
}

for (const [lang, build] of Object.entries(LANGS)) {
  describe(`lingo new stage --lang ${lang}`, () => {
    const s = servers({ llm: { latencyMs: 0 } });
    let dir;

    before(() => {
      // Outside the repository: nothing of it may be needed.
      dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lingo-new-')), 'my-terms');
      s.cleanup(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));
      const wrote = run(lingoBin(), ['new', 'stage', 'my-terms', '--lang', lang, '--phase', 'post', '--dir', dir]);
      assert.match(wrote, /wrote .*my-terms \(post stage/);
      const env = { ...process.env };
      delete env.CARGO_TARGET_DIR;
      for (const [command, args] of build) run(command, args, { cwd: dir, env });
    });

    test('lingo try: the stage rewrites the translation, and --show-text shows what it received', () => {
      const out = run(lingoBin(), ['try', '--config', 'pipeline.toml', '--to', 'en', '--show-text', 'gg wp'], {
        cwd: dir,
        env: { ...process.env, LLM_URL: s.llm.url, NO_COLOR: '1' },
      });
      assert.match(out, /^my-terms\s+post\s+en\s+rewritten/m, out);
      const translation = out.match(/^en: (.*) {2}\(llm\)$/m);
      assert.ok(translation, out);
      assert.match(translation[1], /good game wp/);
      assert.doesNotMatch(translation[1], /\bgg\b/);
      assert.match(out, /in: {2}".*gg wp"/, 'the post stage received the translation with the term');
    });

    test('a bull job through `lingo run` with the project\'s pipeline.toml', logged(async () => {
      const producer = await open(s.redis, 'translation-jobs');
      s.cleanup(() => producer.close());
      await Lingo.start({ config: path.join(dir, 'pipeline.toml'), env: { REDIS_URL: s.redis.url, LLM_URL: s.llm.url } });
      const job = await producer.add({ text: 'gg wp', targetLanguages: ['en'] });
      const result = await producer.finished(job);
      assert.match(result.translations.en, /good game wp/);
      assert.equal(result.providers.en, 'llm');
    }));

    test('lingo try --stage-tests: golden cases pass, and a wrong one fails with what it got', () => {
      const cases = (expect) => `[[case]]\ntext = "gg wp"\nto = ["en"]\nexpect = { en = "${expect}" }\n`;
      const env = { ...process.env, LLM_URL: s.llm.url, NO_COLOR: '1' };
      fs.writeFileSync(path.join(dir, 'good.toml'), cases('[en] good game wp'));
      assert.match(run(lingoBin(), ['try', '--config', 'pipeline.toml', '--stage-tests', 'good.toml'], { cwd: dir, env }), /1 passed, 0 failed/);
      fs.writeFileSync(path.join(dir, 'bad.toml'), cases('gg wp'));
      assert.throws(
        () => run(lingoBin(), ['try', '--config', 'pipeline.toml', '--stage-tests', 'bad.toml'], { cwd: dir, env }),
        /FAIL {2}case 1[\s\S]*en: expected "gg wp", got "\[en\] good game wp"[\s\S]*0 passed, 1 failed/,
      );
    });
  });
}

describe('lingo run --watch: a rebuilt stage is reloaded', () => {
  const s = servers({ llm: { latencyMs: 0 } });

  test('the next job runs the new build', logged(async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lingo-watch-')), 'my-terms');
    s.cleanup(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));
    run(lingoBin(), ['new', 'stage', 'my-terms', '--lang', 'ts', '--dir', dir]);
    for (const [command, args] of LANGS.ts.filter(([, args]) => args[0] !== 'test')) run(command, args, { cwd: dir });
    const producer = await open(s.redis, 'translation-jobs');
    s.cleanup(() => producer.close());
    const lingo = await Lingo.start({
      config: path.join(dir, 'pipeline.toml'),
      env: { REDIS_URL: s.redis.url, LLM_URL: s.llm.url },
      args: ['--watch'],
    });
    const translate = async () => (await producer.finished(await producer.add({ text: 'gg wp', targetLanguages: ['en'] }))).translations.en;
    assert.equal(await translate(), '[en] good game wp');
    // A new version of the stage: only its .wasm changes, not the config.
    const terms = path.join(dir, 'src/terms.ts');
    fs.writeFileSync(terms, fs.readFileSync(terms, 'utf8').replace('return replaced === text ? undefined : replaced;', "return replaced === text ? undefined : `${replaced} (v2)`;"));
    run('npm', ['run', 'build'], { cwd: dir });
    await waitFor('the reload after the rebuild', () => /plugin files changed: reloading[\s\S]*config reloaded/.test(lingo.stderr), { ms: 30_000 });
    assert.equal(await translate(), '[en] good game wp (v2)');
  }));
});
