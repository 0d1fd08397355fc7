'use strict';
// The fault suite: lingo run as an operator runs it (a real redis-server,
// the real npm `bull` and `bullmq` producers, the stand-in LLM server, which
// is not a model), pushed through crashes, a Redis restart, a hostile tenant,
// a soak and a shutdown shorter than its jobs. Every scenario checks its
// targets (no job lost, no queue halted, the good tenant unharmed) and the
// process exits non-zero when one is missed.
//
//   node faults.js --short            a few thousand jobs: part of `make test`
//   node faults.js --out FILE.md      the full run (`make test-faults`)
//   node faults.js --short --only hostile   one scenario
//
// The malformed-job catalogue and the fuzzing live beside the code they
// test: tests/interop/bad-payloads.test.js and the property tests.

const fs = require('node:fs');
const path = require('node:path');
const { RedisServer, freePort, sleep, waitFor } = require('../interop/lib/redis');
const { DevLlm } = require('../interop/lib/devllm');
const { Lingo, pipelineToml } = require('../interop/lib/lingo');
const { translationJob } = require('../interop/lib/jobs');
const producers = { bull: require('../interop/lib/bullq'), bullmq: require('../interop/lib/bullmqq') };

const args = process.argv.slice(2);
const SHORT = args.includes('--short');
const OUT = args.includes('--out') ? args[args.indexOf('--out') + 1] : null;
/** `--only NAME`: the scenarios whose name starts with it (kill, restart, hostile, soak, sigterm). */
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const MISBEHAVE = path.resolve(__dirname, '../../plugins/target/wasm32-wasip2/release/lingo_fixture_misbehave.wasm');

/** Sizes of the full run and of the short one. */
const SCALE = SHORT
  ? { killJobs: 3000, killEveryMs: 500, restartJobs: 600, hostileSeconds: 6, goodRate: 40, soakSeconds: 8 }
  : { killJobs: 30000, killEveryMs: 2000, restartJobs: 6000, hostileSeconds: 30, goodRate: 100, soakSeconds: 120 };

const results = [];
const misses = [];

/**
 * Records a figure and whether it meets its target. Timings and memory are
 * targets of the full run only: the short run inside `make test` reports
 * them, since a test must not fail on how busy the machine happens to be.
 */
function timed(scenario, what, value, ok, target) {
  if (SHORT) note(scenario, `${what} (target ${target} in the full run)`, value);
  else check(scenario, what, value, ok, target);
}

/** Records a figure and whether it meets its target. */
function check(scenario, what, value, ok, target) {
  results.push({ scenario, what, value, target: target ?? '', ok });
  const mark = ok ? 'ok  ' : 'MISS';
  console.log(`${mark} ${scenario}: ${what} = ${value}${target ? ` (target ${target})` : ''}`);
  if (!ok) misses.push(`${scenario}: ${what} = ${value}, target ${target}`);
}

function note(scenario, what, value) {
  check(scenario, what, value, true);
}

const rssMiB = (pid) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
};
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const usedMemory = async (client) => Number(/used_memory:(\d+)/.exec(await client.info('memory'))[1]);

/** Adds `items` ({data, opts}) in batches; returns the jobs. */
async function addAll(producer, items) {
  const jobs = [];
  for (let i = 0; i < items.length; i += 1000) jobs.push(...await producer.addBulk(items.slice(i, i + 1000)));
  return jobs;
}

/** Waits until every job of `ids` is completed or failed; returns how long it took. */
async function settled(producer, total, ms) {
  const started = Date.now();
  await waitFor(`${total} jobs to settle`, async () => {
    const counts = await producer.counts();
    return counts.completed + counts.failed >= total;
  }, { ms, every: 250 });
  return Date.now() - started;
}

/** Every job's state: how many completed with the right translation, failed, or neither (lost). */
async function audit(producer, jobs) {
  const client = producer.redis;
  const pipe = client.pipeline();
  for (const job of jobs) pipe.hmget(producer.base + job.id, 'returnvalue', 'failedReason', 'finishedOn');
  const replies = await pipe.exec();
  let completed = 0;
  let wrong = 0;
  let failed = 0;
  const reasons = new Map();
  replies.forEach(([, [value, reason, finishedOn]], i) => {
    if (value && finishedOn) {
      const text = jobs[i].data.text;
      if (JSON.parse(value).translations?.en === `[en] ${text}`) completed += 1; else wrong += 1;
    } else if (reason && finishedOn) {
      failed += 1;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
  });
  return { completed, wrong, failed, lost: jobs.length - completed - wrong - failed, reasons };
}

// ---------------------------------------------------------------- kill -9

/** Three workers on one queue; one of them killed with SIGKILL and replaced every `killEveryMs`. */
async function killLoop(protocol) {
  const scenario = `kill -9 (${protocol})`;
  const redis = await RedisServer.start();
  const llm = await DevLlm.start({ latencyMs: 20 });
  const producer = await producers[protocol].open(redis, 'faults');
  const options = { redisUrl: redis.url, protocol, queue: 'faults', llmUrl: llm.url, concurrency: 16,
    lockDuration: '2s', stalledInterval: '1s', maxStalledCount: 1000, shutdownGrace: '5s' };
  const workers = await Promise.all([0, 1, 2].map(() => Lingo.start(options)));
  const items = Array.from({ length: SCALE.killJobs }, (_, i) => ({ data: translationJob(`fault ${i}`), opts: { attempts: 3 } }));
  const started = Date.now();
  const jobs = await addAll(producer, items);
  let kills = 0;
  let killing = true;
  const killer = (async () => {
    while (killing) {
      await sleep(SCALE.killEveryMs);
      if (!killing) break;
      const victim = Math.floor(Math.random() * workers.length);
      await workers[victim].kill();
      kills += 1;
      workers[victim] = await Lingo.start(options);
    }
  })();
  await settled(producer, jobs.length, SHORT ? 120_000 : 900_000);
  killing = false;
  await killer;
  const { completed, wrong, failed, lost } = await audit(producer, jobs);
  const runs = await llm.requests();
  check(scenario, 'jobs', jobs.length, jobs.length >= SCALE.killJobs, `≥ ${SCALE.killJobs}`);
  check(scenario, 'lost', lost, lost === 0, '0');
  check(scenario, 'wrong results', wrong, wrong === 0, '0');
  check(scenario, 'failed', failed, failed === 0, '0');
  check(scenario, 'workers killed', kills, kills >= 1, '≥ 1');
  note(scenario, 'completed', completed);
  note(scenario, 'duplicate runs (re-run after a kill)', runs - jobs.length);
  note(scenario, 'duplicate runs per kill (16 slots a worker)', kills ? ((runs - jobs.length) / kills).toFixed(1) : '0');
  note(scenario, 'jobs per second through the kills', (jobs.length / ((Date.now() - started) / 1000)).toFixed(0));
  await Promise.all(workers.map((w) => w.stop().catch(() => w.kill())));
  await producer.close();
  await llm.stop();
  await redis.stop();
}

// ---------------------------------------------------------------- Redis restart

/** Redis (with AOF) restarted while a third of the jobs are done. */
async function redisRestart(protocol) {
  const scenario = `Redis restart with AOF (${protocol})`;
  const redis = await RedisServer.start({ appendonly: true });
  const llm = await DevLlm.start({ latencyMs: 5 });
  const producer = await producers[protocol].open(redis, 'restart');
  const lingo = await Lingo.start({ redisUrl: redis.url, protocol, queue: 'restart', llmUrl: llm.url, concurrency: 16,
    lockDuration: '4s', stalledInterval: '2s', maxStalledCount: 1000 });
  const items = Array.from({ length: SCALE.restartJobs }, (_, i) => ({ data: translationJob(`restart ${i}`), opts: { attempts: 3 } }));
  const jobs = await addAll(producer, items);
  await waitFor('a third done', async () => (await producer.counts()).completed >= jobs.length / 3, { ms: 120_000, every: 50 });
  await redis.restart();
  const restarted = Date.now();
  const before = (await producer.counts()).completed;
  // Jobs added after the restart: the worker must resume even when it had
  // finished the first batch by the time Redis was back.
  const after = Array.from({ length: 50 }, (_, i) => ({ data: translationJob(`after the restart ${i}`), opts: { attempts: 3 } }));
  jobs.push(...await addAll(producer, after));
  await waitFor('the first completion after the restart', async () => (await producer.counts()).completed > before, { ms: 120_000, every: 50 });
  const resumed = Date.now() - restarted;
  await settled(producer, jobs.length, 300_000);
  const { lost, wrong, failed } = await audit(producer, jobs);
  check(scenario, 'lost', lost, lost === 0, '0');
  // A job run twice would have had its outcome lost with the connection and
  // been run again by the stalled check: the worker retries the write instead.
  const twice = (await llm.requests()) - jobs.length;
  check(scenario, 'jobs run twice', twice, twice === 0, '0');
  note(scenario, 'time from the restart to the last job (ms)', Date.now() - restarted);
  check(scenario, 'wrong results', wrong, wrong === 0, '0');
  check(scenario, 'failed', failed, failed === 0, '0');
  timed(scenario, 'time to resume (ms)', resumed, resumed < 30_000, '< 30,000');
  check(scenario, 'worker restarted', lingo.exit ? 'yes' : 'no', !lingo.exit, 'no');
  await lingo.stop();
  await producer.close();
  await llm.stop();
  await redis.stop();
}

// ---------------------------------------------------------------- hostile tenant

function hostedFiles(redis, llm, admin, withEvil) {
  const stage = (lines) => `[[stage]]\n${lines}\n`;
  const fixture = (name, act, extra = '') => stage(`name = "${name}"\nplugin = "${MISBEHAVE}"\non_error = "next"\n${extra}\nconfig = ${act}`);
  const good = stage(`name = "vllm"\nplugin = "vllm"\nallowed_hosts = ["${llm.url}"]\nconfig = { url = "${llm.url}", model = "stand-in" }`);
  // Every hostile guest at once, each bounded by a limit; evil's own file
  // asks for more than the operator allows, and is capped.
  const evil = [
    '[limits]\nmax_targets = 256\nmax_log_lines = 100000\nmax_kv_keys = 100000000\n',
    fixture('flood', '{ act = "flood", lines = 100000, bytes = 200 }', 'phase = "pre"'),
    fixture('fill', '{ act = "kv_fill", keys = 5000, bytes = 10000 }', 'phase = "pre"'),
    fixture('huge', '{ act = "huge", bytes = 50000000 }', 'memory = "128MiB"'),
    fixture('wide', '{ act = "huge", bytes = 3000000 }'),
    fixture('loud', '{ act = "huge_error", bytes = 3000000 }'),
    fixture('spin', '{ act = "loop" }', 'timeout = "200ms"'),
    fixture('hog', '{ act = "alloc", mib = 512 }', 'memory = "32MiB"'),
    fixture('reach', `{ act = "fetch_many", url = "${llm.url}/api/tags", times = 1000 }`, `allowed_hosts = ["*"]\nmax_redirects = 10`),
  ].join('\n');
  // The operator's ceilings for a tenant it does not trust: small memory, an 8 MiB kv quota.
  const tenants = [['good', 'good-q', 8, '{ max_kv_bytes = "8MiB" }']];
  if (withEvil) tenants.push(['evil', 'evil-q', 8, '{ memory = "16MiB", max_memory_in_use = "64MiB", max_kv_bytes = "8MiB" }']);
  const toml = ['[worker]', `redis_url = "${redis.url}"`, 'concurrency = 16', 'lock_duration = "10s"', 'shutdown_grace = "5s"',
    `admin_listen = "127.0.0.1:${admin}"`,
    ...tenants.flatMap(([id, queue, slots, limits]) => ['', '[[tenant]]', `id = "${id}"`, `pipeline = "${id}.toml"`, `queue = "${queue}"`,
      `max_slots = ${slots}`, `limits = ${limits}`])].join('\n') + '\n';
  return { 'lingo.toml': toml, 'good.toml': good, ...(withEvil ? { 'evil.toml': evil } : {}) };
}

/** Good's jobs at a steady rate for `seconds`; their latencies (ms, from the hashes). */
async function goodLoad(producer, seconds, rate, label) {
  const jobs = [];
  const end = Date.now() + seconds * 1000;
  let i = 0;
  while (Date.now() < end) {
    const tick = Date.now();
    const batch = Math.max(1, Math.round(rate / 10));
    jobs.push(...await producer.addBulk(Array.from({ length: batch }, () => ({ data: translationJob(`${label} ${i++}`) }))));
    await sleep(Math.max(0, 100 - (Date.now() - tick)));
  }
  await waitFor('good jobs to settle', async () => {
    const counts = await producer.counts();
    return counts.completed + counts.failed >= jobs.length;
  }, { ms: 120_000, every: 100 });
  const pipe = producer.redis.pipeline();
  for (const job of jobs) pipe.hmget(producer.base + job.id, 'timestamp', 'finishedOn', 'failedReason');
  const latencies = [];
  let failed = 0;
  for (const [, [timestamp, finishedOn, reason]] of await pipe.exec()) {
    if (reason) failed += 1; else latencies.push(Number(finishedOn) - Number(timestamp));
  }
  latencies.sort((a, b) => a - b);
  return { jobs: jobs.length, failed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

async function hostile() {
  const scenario = 'hostile tenant (bull)';
  const redis = await RedisServer.start();
  const llm = await DevLlm.start({ latencyMs: 20 });
  const client = redis.client();

  // Good alone: its latency, log and memory with load.
  const admin = await freePort();
  let lingo = await Lingo.start({ files: hostedFiles(redis, llm, admin, false), main: 'lingo.toml', banners: 1 });
  const good = await producers.bull.open(redis, 'good-q');
  const alone = await goodLoad(good, SCALE.hostileSeconds, SCALE.goodRate, 'alone');
  const rssAlone = rssMiB(lingo.pid);
  await lingo.stop();

  // Good beside evil at full tilt.
  lingo = await Lingo.start({ files: hostedFiles(redis, llm, admin, true), main: 'lingo.toml', banners: 2 });
  const evil = await producers.bull.open(redis, 'evil-q');
  const memoryBefore = await usedMemory(client);
  const logBefore = lingo.stderr.length;
  let flooding = true;
  let evilJobs = 0;
  const langs = ['en', 'ja', 'ko', 'de', 'fr', 'es', 'it', 'pt', 'ru', 'zh', 'ar', 'hi', 'tr', 'pl', 'nl', 'sv'];
  const flood = (async () => {
    while (flooding) {
      const counts = await evil.counts();
      if (counts.waiting < 200) {
        const items = Array.from({ length: 100 }, (_, i) => ({
          data: i % 10 === 0
            ? { text: `evil ${evilJobs + i}`, targetLanguages: Array.from({ length: 256 }, (_, k) => `x${String.fromCharCode(97 + (k % 26))}${String.fromCharCode(97 + Math.floor(k / 26))}`) }
            : { text: `evil ${evilJobs + i}`, targetLanguages: langs },
        }));
        await evil.addBulk(items);
        evilJobs += items.length;
      }
      await sleep(100);
    }
  })();
  await sleep(1000);
  const beside = await goodLoad(good, SCALE.hostileSeconds, SCALE.goodRate, 'beside');
  const rssBeside = rssMiB(lingo.pid);
  flooding = false;
  await flood;
  const memoryGrowth = (await usedMemory(client)) - memoryBefore;
  const logGrowth = lingo.stderr.length - logBefore;
  const evilCounts = await evil.counts();

  check(scenario, 'good jobs alone / failed', `${alone.jobs} / ${alone.failed}`, alone.failed === 0, '0 failed');
  check(scenario, 'good jobs beside evil / failed', `${beside.jobs} / ${beside.failed}`, beside.failed === 0, '0 failed');
  note(scenario, 'good p50 alone → beside evil (ms)', `${alone.p50} → ${beside.p50}`);
  timed(scenario, 'good p99 alone → beside evil (ms)', `${alone.p99} → ${beside.p99}`, beside.p99 <= Math.max(2 * alone.p99, alone.p99 + 20), '≤ 2× alone');
  note(scenario, 'evil jobs finished (all fail or fall through)', `${evilCounts.completed + evilCounts.failed} of ${evilJobs}`);
  // The evil tenant's kv quota is 8 MiB; its jobs' own hashes (data, results, reasons) come on top.
  check(scenario, 'Redis growth (MiB)', (memoryGrowth / 2 ** 20).toFixed(1), memoryGrowth < 64 * 2 ** 20, '< 64 (kv quota 8 MiB + job hashes)');
  const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  const hits = [...metrics.matchAll(/^lingo_limit_hits_total\{tenant="evil",limit="([^"]+)"\} (\d+)/gm)].map((m) => `${m[1]} ${m[2]}`);
  note(scenario, 'evil limits hit', hits.join(', '));
  // The flood stage writes 100,000 lines of 200 bytes a call; each of its
  // calls ends with one warning saying how many were dropped.
  const lines = lingo.stderr.slice(logBefore).split('\n');
  // Per flood call that has ended (its warning written), the lines it kept.
  const jobOf = (line) => /job\.id=(\S+)/.exec(line)?.[1];
  const ended = new Set(lines.filter((l) => l.includes('stage `flood` wrote more log')).map(jobOf));
  const kept = new Map();
  for (const line of lines) {
    if (line.includes('x'.repeat(200)) && ended.has(jobOf(line))) kept.set(jobOf(line), (kept.get(jobOf(line)) ?? 0) + 1);
  }
  const most = Math.max(0, ...kept.values());
  check(scenario, 'flood calls / most log lines one call kept', `${ended.size} / ${most}`,
    ended.size > 0 && most <= Math.floor(16384 / 200), '≤ 81 (max_log_bytes 16 KiB of 200-byte lines)');
  note(scenario, 'log growth (MiB)', (logGrowth / 2 ** 20).toFixed(1));
  timed(scenario, 'worker RSS idle-with-load → beside evil (MiB)', `${rssAlone.toFixed(0)} → ${rssBeside.toFixed(0)}`, rssBeside <= 2 * rssAlone, '≤ 2×');
  check(scenario, 'worker restarted', lingo.exit ? 'yes' : 'no', !lingo.exit, 'no');
  await lingo.stop();
  await good.close();
  await evil.close();
  await llm.stop();
  await redis.stop();
}

// ---------------------------------------------------------------- soak

async function soak() {
  const scenario = 'soak (bullmq)';
  const redis = await RedisServer.start();
  const llm = await DevLlm.start({ latencyMs: 0 });
  const producer = await producers.bullmq.open(redis, 'soak');
  const lingo = await Lingo.start({ redisUrl: redis.url, protocol: 'bullmq', queue: 'soak', llmUrl: llm.url, concurrency: 64 });
  const end = Date.now() + SCALE.soakSeconds * 1000;
  const quarter = Date.now() + SCALE.soakSeconds * 250;
  let rssQuarter = null;
  let added = 0;
  while (Date.now() < end) {
    const counts = await producer.counts();
    if (counts.waiting < 2000) {
      await producer.addBulk(Array.from({ length: 1000 }, (_, i) => ({ data: translationJob(`soak ${added + i}`), opts: { removeOnComplete: true } })));
      added += 1000;
    }
    if (rssQuarter === null && Date.now() >= quarter) rssQuarter = rssMiB(lingo.pid);
    await sleep(50);
  }
  const rssEnd = rssMiB(lingo.pid);
  const drift = (rssEnd - rssQuarter) / rssQuarter;
  note(scenario, 'jobs added', added);
  timed(scenario, 'RSS at a quarter → end (MiB), drift', `${rssQuarter.toFixed(0)} → ${rssEnd.toFixed(0)}, ${(100 * drift).toFixed(1)} %`, drift < 0.10, '< 10 %');
  await lingo.stop();
  await producer.close();
  await llm.stop();
  await redis.stop();
}

// ---------------------------------------------------------------- SIGTERM

/** Jobs three times longer than the shutdown grace: lingo exits within the grace, another worker finishes them. */
async function sigterm(protocol) {
  const scenario = `SIGTERM with jobs longer than the grace (${protocol})`;
  const redis = await RedisServer.start();
  const llm = await DevLlm.start({ latencyMs: 3000 });
  const producer = await producers[protocol].open(redis, 'term');
  const options = { redisUrl: redis.url, protocol, queue: 'term', llmUrl: llm.url, concurrency: 8,
    lockDuration: '2s', stalledInterval: '1s', maxStalledCount: 5, shutdownGrace: '1s' };
  const lingo = await Lingo.start(options);
  const jobs = await addAll(producer, Array.from({ length: 8 }, (_, i) => ({ data: translationJob(`term ${i}`) })));
  await waitFor('8 jobs active', async () => (await producer.counts()).active >= 8, { ms: 10_000, every: 20 });
  const signalled = Date.now();
  lingo.process.kill('SIGTERM');
  await lingo.exited;
  const exitMs = Date.now() - signalled;
  const next = await Lingo.start({ ...options, shutdownGrace: '10s' });
  await settled(producer, jobs.length, 60_000);
  const { lost, failed } = await audit(producer, jobs);
  timed(scenario, 'exit after SIGTERM (ms)', exitMs, exitMs < 1000 + 2000, '< grace + 2 s');
  check(scenario, 'lost', lost, lost === 0, '0');
  check(scenario, 'failed', failed, failed === 0, '0');
  await next.stop();
  await producer.close();
  await llm.stop();
  await redis.stop();
}

// ---------------------------------------------------------------- report

function report(started) {
  const lines = [
    '# Reliability',
    '',
    `The fault suite (\`make test-faults\`, \`tests/faults/faults.js\`), run ${new Date().toISOString().slice(0, 10)} on this`,
    `repository's machine (${require('node:os').cpus().length} cores) in ${((Date.now() - started) / 60000).toFixed(1)} minutes. A real redis-server,`,
    'the npm `bull` and `bullmq` producers, and the stand-in LLM server (`lingo dev-llm`, not a model).',
    '`make test` runs the same scenarios at a few thousand jobs (`--short`), with the same targets.',
    'The malformed-job catalogue (34 jobs, 8 written raw into the hash) is `tests/interop/bad-payloads.test.js`;',
    'the bounded fuzzing of job data, gateway bodies and config text is in the property tests',
    '(`runtime/engine/tests/decoding.rs`, `runtime/config/tests/fuzz.rs`; 256 cases each in `cargo test`). A longer run,',
    '`PROPTEST_CASES=200000` on both, found nothing (about 8 s each).',
    '',
    '| scenario | figure | value | target | |',
    '|---|---|---:|---|---|',
    ...results.map((r) => `| ${r.scenario} | ${r.what} | ${r.value} | ${r.target} | ${r.ok ? 'ok' : '**missed**'} |`),
    '',
    '"Jobs run twice" after a Redis restart counts jobs whose outcome was lost with the connection and',
    'that the stalled check ran again. Both protocols\' loops retry an outcome write until Redis is back,',
    'so the target is none.',
    '',
  ];
  return lines.join('\n');
}

async function main() {
  const started = Date.now();
  const scenarios = {
    'kill-bull': () => killLoop('bull'),
    'kill-bullmq': () => killLoop('bullmq'),
    'restart-bull': () => redisRestart('bull'),
    'restart-bullmq': () => redisRestart('bullmq'),
    hostile,
    soak,
    'sigterm-bull': () => sigterm('bull'),
    'sigterm-bullmq': () => sigterm('bullmq'),
  };
  for (const [name, scenario] of Object.entries(scenarios)) {
    if (ONLY && !name.startsWith(ONLY)) continue;
    try {
      await scenario();
    } catch (err) {
      misses.push(`${err.stack}`);
      console.error(err);
      for (const lingo of Lingo.all.filter((l) => !l.exit)) console.error(lingo.tail(40));
      await Lingo.killAll().catch(() => {});
    }
  }
  const text = report(started);
  if (OUT) fs.writeFileSync(OUT, text);
  console.log(`\n${text}`);
  if (misses.length) {
    console.error(`\n${misses.length} target(s) missed:\n${misses.join('\n')}`);
    process.exit(1);
  }
}

main();
