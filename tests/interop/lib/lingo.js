'use strict';
// `lingo run` as a separate process, the way a user deploys it: a
// pipeline.toml in a temp dir, `$LINGO_BIN run --config`, stderr captured.
// `logged(fn)` wraps a test body so that, when it fails, the stderr of every
// lingo process that ran meanwhile is printed.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { waitFor } = require('./redis');

const BANNER = 'Starting Bull-compatible worker';

/** The binary under test: `$LINGO_BIN`, else the release build of this checkout. */
function lingoBin() {
  return process.env.LINGO_BIN || path.resolve(__dirname, '../../../target/release/lingo');
}

/**
 * pipeline.toml for one vllm stage at `llmUrl` (the stand-in, or a dead URL).
 * Durations are strings like "4s"; `limits` is an optional `{max_text_bytes, max_targets}`.
 */
function pipelineToml(o) {
  const lines = [
    '[worker]',
    `redis_url = "${o.redisUrl}"`,
    `protocol = "${o.protocol}"`,
    `queue = "${o.queue}"`,
    `concurrency = ${o.concurrency ?? 8}`,
    `lock_duration = "${o.lockDuration ?? '4s'}"`,
    `stalled_interval = "${o.stalledInterval ?? '5s'}"`,
    `max_stalled_count = ${o.maxStalledCount ?? 1}`,
    `shutdown_grace = "${o.shutdownGrace ?? '10s'}"`,
  ];
  if (o.limits) {
    lines.push('', '[limits]', ...Object.entries(o.limits).map(([k, v]) => `${k} = ${v}`));
  }
  lines.push('', '[[stage]]', 'name = "vllm"', 'plugin = "vllm"', `timeout = "${o.stageTimeout ?? '30s'}"`,
    `allowed_hosts = ["${o.llmUrl}"]`, `config = { url = "${o.llmUrl}", model = "stand-in" }`);
  return lines.join('\n') + '\n';
}

class Lingo {
  /** Every lingo process started by this test file, for `logged` and `killAll`. */
  static all = [];

  constructor(options) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lingo-run-'));
    // `files` ({name: text}) writes a hosted config and its tenants' pipelines; `main` names the config.
    // `config` runs a config file where it is, as a user's project has it.
    const files = options.config ? {} : (options.files ?? { 'pipeline.toml': pipelineToml(options) });
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(this.dir, name), text);
    this.config = options.config ?? path.join(this.dir, options.main ?? 'pipeline.toml');
    this.env = options.env ?? {};
    this.args = options.args ?? [];
    this.banners = options.banners ?? 1;
    this.stderr = '';
    this.exit = null;
    Lingo.all.push(this);
  }

  /**
   * Starts `lingo run` with `pipelineToml(options)` and waits for its banner.
   * Options: redisUrl, protocol, queue, llmUrl, concurrency, lockDuration,
   * stalledInterval, maxStalledCount, shutdownGrace, limits, stageTimeout.
   * Or `files` ({name: text}), `main` (the config among them), `banners`
   * (how many queues start: one per tenant) and extra `args`; or `config`,
   * a config file run where it is. `env` adds variables (`${VAR}` in configs).
   */
  static async start(options) {
    const lingo = new Lingo(options);
    await lingo.#spawn();
    return lingo;
  }

  #spawn() {
    const env = { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.RUST_LOG || 'info' };
    delete env.WORKER_CONCURRENCY;
    delete env.REDIS_URL;
    Object.assign(env, this.env);
    const child = spawn(lingoBin(), ['run', '--config', this.config, ...this.args], { stdio: ['ignore', 'ignore', 'pipe'], env });
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.exit = { code, signal };
      resolve(this.exit);
    }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lingo did not start within 30 s:\n${this.stderr}`)), 30_000);
      child.stderr.on('data', (chunk) => {
        this.stderr += chunk;
        if (this.stderr.split(BANNER).length > this.banners) { clearTimeout(timer); resolve(); }
      });
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`lingo exited (${code ?? signal}) before starting:\n${this.stderr}`));
      });
    });
  }

  get pid() { return this.process.pid; }

  /** Rewrites one of the config files in place. */
  write(name, text) { fs.writeFileSync(path.join(this.dir, name), text); }

  /** Ids of the jobs whose pipeline run finished here (its "job <id> done" lines). */
  doneIds() {
    return [...this.stderr.matchAll(/\] job (\S+) done in /g)].map((m) => m[1]);
  }

  /**
   * `doneIds()` once it holds at least `count` ids. lingo writes its log from
   * a thread of its own, so a line may reach stderr just after the job is
   * completed in Redis.
   */
  async doneIdsWhen(count) {
    try {
      await waitFor(`${count} "job <id> done" lines from lingo`, () => this.doneIds().length >= count, { ms: 5000 });
    } catch (err) {
      err.message += ` (logged: ${JSON.stringify(this.doneIds())})`;
      throw err;
    }
    return this.doneIds();
  }

  /** SIGTERM, then waits for the exit; throws unless it exits with code 0. */
  async stop() {
    if (!this.exit) this.process.kill('SIGTERM');
    const { code, signal } = await this.exited;
    if (code !== 0) throw new Error(`lingo exited with ${code ?? signal}, expected 0:\n${this.tail()}`);
    this.#cleanup();
  }

  /** SIGKILL (a crash: no cleanup in Redis), then waits for the exit. */
  async kill() {
    if (!this.exit) this.process.kill('SIGKILL');
    await this.exited;
    this.#cleanup();
  }

  /** The last `n` lines of stderr. */
  tail(n = 60) {
    return this.stderr.trimEnd().split('\n').slice(-n).join('\n');
  }

  #cleanup() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops every lingo still running, at once. */
  static async stopAll() {
    const running = Lingo.all.filter((lingo) => !lingo.exit);
    const results = await Promise.allSettled(running.map((lingo) => lingo.stop()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Kills every lingo still running (for `after` hooks, after a failure). */
  static async killAll() {
    await Promise.all(Lingo.all.map((lingo) => lingo.kill()));
  }
}

/** Wraps a test body: on failure, prints the stderr of the lingo processes involved, then rethrows. */
function logged(fn) {
  return async (t) => {
    const alive = new Map(Lingo.all.filter((l) => !l.exit).map((l) => [l, l.stderr.length]));
    const first = Lingo.all.length;
    try {
      await fn(t);
    } catch (err) {
      for (const lingo of Lingo.all.slice(first)) alive.set(lingo, 0);
      for (const [lingo, from] of alive) {
        const lines = lingo.stderr.slice(from).trimEnd().split('\n');
        console.error(`--- lingo pid ${lingo.pid} (${lingo.exit ? `exited ${lingo.exit.code ?? lingo.exit.signal}` : 'running'}), ` +
          `last ${Math.min(lines.length, 80)} of ${lines.length} log lines of this test ---\n${lines.slice(-80).join('\n')}`);
      }
      throw err;
    }
  };
}

module.exports = { Lingo, logged, lingoBin, pipelineToml };
