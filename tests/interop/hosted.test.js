'use strict';
// The hosted worker: several tenants' pipelines and queues in one `lingo run`
// (a lingo.toml with [[tenant]] tables), fed by npm `bull` producers and the
// stand-in LLM server (not a model). Fair slots, isolation, hot reload, and
// the gateway's API keys and rate limits.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { execFile, spawn } = require('node:child_process');
const path = require('node:path');
const { freePort, waitFor, sleep } = require('./lib/redis');
const { Lingo, logged, lingoBin } = require('./lib/lingo');
const bull = require('./lib/bullq');
const bullmq = require('./lib/bullmqq');
const { translationJob, queueName } = require('./lib/jobs');
const { servers } = require('./lib/servers');

const MISBEHAVE = path.resolve(__dirname, '../../plugins/target/wasm32-wasip2/release/lingo_fixture_misbehave.wasm');

/** A tenant's pipeline.toml from stage lines. */
function pipeline(...stages) {
  return stages.map((s) => `[[stage]]\n${s}\n`).join('\n');
}

const vllm = (llm) => `name = "vllm"\nplugin = "vllm"\nallowed_hosts = ["${llm.url}"]\nconfig = { url = "${llm.url}", model = "stand-in" }`;
const cache = 'name = "cache"\nplugin = "cache"';
const misbehave = (name, config, extra = '') => `name = "${name}"\nplugin = "${MISBEHAVE}"\nconfig = ${config}\n${extra}`;

/** lingo.toml: the shared [worker] and one [[tenant]] per entry. */
function hostedToml({ redis, slots, admin, tenants, protocol = 'bull', cpuAccounting = false }) {
  const lines = ['[worker]', `redis_url = "${redis.url}"`, `protocol = "${protocol}"`, `concurrency = ${slots}`,
    'lock_duration = "10s"', 'shutdown_grace = "10s"'];
  if (admin) lines.push(`admin_listen = "127.0.0.1:${admin}"`);
  if (cpuAccounting) lines.push('cpu_accounting = true');
  for (const t of tenants) {
    lines.push('', '[[tenant]]', `id = "${t.id}"`, `pipeline = "${t.id}.toml"`, `queue = "${t.queue}"`);
    for (const key of ['max_slots', 'weight', 'jobs_per_second']) if (t[key] !== undefined) lines.push(`${key} = ${t[key]}`);
    if (t.api_keys) lines.push(`api_keys = ${JSON.stringify(t.api_keys)}`);
    if (t.limits) lines.push(`limits = { ${Object.entries(t.limits).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ')} }`);
  }
  return lines.join('\n') + '\n';
}

/** The config files of `tenants` (each with `.pipeline` text) for `Lingo.start`. */
function files(options) {
  const out = { 'lingo.toml': hostedToml(options) };
  for (const t of options.tenants) out[`${t.id}.toml`] = t.pipeline;
  return out;
}

async function startHosted(options) {
  return Lingo.start({ files: files(options), main: 'lingo.toml', banners: options.tenants.length, args: options.args });
}

/**
 * `lingo reload --admin`: {ok, out}. Asynchronous, so this process goes on
 * reading the worker's output meanwhile.
 */
function reload(admin) {
  return new Promise((resolve) => {
    execFile(lingoBin(), ['reload', '--admin', `127.0.0.1:${admin}`], (error, stdout, stderr) => {
      resolve({ ok: !error, out: stdout + stderr });
    });
  });
}

async function healthz(admin) {
  return (await fetch(`http://127.0.0.1:${admin}/healthz`)).json();
}

/** Ids finished in `set` (completed|failed) of a bull queue, by score (finishedOn). */
const finishedCount = (producer, set, min = '-inf', max = '+inf') => producer.redis.zcount(`${producer.base}${set}`, min, max);

describe('hosted: many tenants in one worker', () => {
  const s = servers({ llm: { latencyMs: 50 } });

  async function producer(queue, protocol = 'bull') {
    const p = await (protocol === 'bull' ? bull : bullmq).open(s.redis, queue);
    s.cleanup(() => p.close());
    return p;
  }

  for (const protocol of ['bull', 'bullmq']) test(`${protocol}: fair slots: a flood of 20,000 jobs in tenant A does not hold back tenant B, and slots follow the weights`, logged(async (t) => {
    // 8 slots; A weighs 3, B 1: with both queues full, A holds 6 slots and B 2.
    // Every job waits 50 ms on the stand-in, so slots, not CPU, set the pace.
    const a = { id: 'a', queue: queueName('fair-a'), weight: 3, pipeline: pipeline(vllm(s.llm)) };
    const b = { id: 'b', queue: queueName('fair-b'), weight: 1, pipeline: pipeline(vllm(s.llm)) };
    const lingo = await startHosted({ redis: s.redis, slots: 8, tenants: [a, b], protocol });
    const [pa, pb] = [await producer(a.queue, protocol), await producer(b.queue, protocol)];

    await pa.addBulk(Array.from({ length: 20_000 }, (_, i) => ({ data: translationJob(`a line ${i}`) })));
    await waitFor('A to be under way', async () => (await finishedCount(pa, 'completed')) >= 100, { ms: 30_000 });
    const bJobs = await pb.addBulk(Array.from({ length: 200 }, (_, i) => ({ data: translationJob(`b line ${i}`) })));
    const results = await Promise.all(bJobs.map((job) => pb.finished(job)));
    results.forEach((r, i) => assert.equal(r.translations.en, `[en] b line ${i}`));

    // B finished while most of A's backlog still waited in Redis.
    const aDone = await finishedCount(pa, 'completed');
    const aWaiting = await pa.redis.llen(`${pa.base}wait`);
    assert.ok(aDone < 2_000, `A completed ${aDone} of 20,000 while B ran its 200`);
    assert.ok(aWaiting > 17_000, `A still had ${aWaiting} waiting`);

    // While both were busy, completions split as the slots did: A 3 for B's 1 (±20 %).
    const bFinished = (await Promise.all(bJobs.map((j) => pb.redis.hget(pb.base + j.id, 'finishedOn')))).map(Number).sort((x, y) => x - y);
    const [from, to] = [bFinished[0], bFinished[bFinished.length - 1]];
    const aInWindow = await finishedCount(pa, 'completed', from, to);
    const ratio = aInWindow / 200;
    t.diagnostic(`while B ran: A completed ${aDone} of 20,000 (${aWaiting} still waiting); A:B completions ${aInWindow}:200 = ${ratio.toFixed(2)} (weights 3:1)`);
    assert.ok(ratio > 2.4 && ratio < 3.6, `A completed ${aInWindow} while B completed 200: ratio ${ratio.toFixed(2)}, weights say 3`);
    assert.ok(!lingo.stderr.includes('ERROR'), lingo.tail());
    await lingo.stop();
  }));

  test('isolation: another tenant\'s cache is out of reach, and a looping or memory-hungry tenant fails only its own jobs', logged(async () => {
    const admin = await freePort();
    const b = { id: 'b', queue: queueName('iso-b'), pipeline: pipeline(cache, vllm(s.llm)) };
    // A looks up the very key B's cache wrote (same stage, same namespace, same text)...
    const snoop = { id: 'snoop', queue: queueName('iso-snoop'), pipeline: pipeline(cache, misbehave('upper', '{ act = "upper" }')) };
    const looper = { id: 'looper', queue: queueName('iso-loop'), max_slots: 2,
      pipeline: pipeline(misbehave('spin', '{ act = "loop" }', 'on_error = "fail"')), limits: { stage_timeout: '300ms' } };
    const hog = { id: 'hog', queue: queueName('iso-hog'), max_slots: 2,
      pipeline: pipeline(misbehave('hog', '{ act = "alloc", mib = 512 }', 'on_error = "fail"')), limits: { memory: '16MiB' } };
    const tenants = [b, snoop, looper, hog];
    const lingo = await startHosted({ redis: s.redis, slots: 16, admin, tenants });
    const [pb, ps, pl, ph] = await Promise.all(tenants.map((t) => producer(t.queue)));

    const secret = translationJob('the secret line', ['en']);
    assert.equal((await pb.finished(await pb.add(secret))).providers.en, 'vllm');
    const bKeys = await s.redis.client().keys('lingo:kv:b:*');
    assert.equal(bKeys.length, 1, `B's cache holds its translation: ${bKeys}`);

    const seen = await ps.finished(await ps.add(secret));
    assert.deepEqual(seen.translations, { en: 'THE SECRET LINE' }, 'the snooping tenant got nothing from B\'s cache');
    assert.equal(seen.providers.en, 'upper');

    // ...and then asks for B's full Redis key by name, through a reloaded pipeline.
    lingo.write('snoop.toml', pipeline(misbehave('peek', `{ act = "kv_get", key = "${bKeys[0]}" }`, 'kv_namespace = "cache"'),
      misbehave('upper', '{ act = "upper" }')));
    const reloaded = await reload(admin);
    assert.ok(reloaded.ok, reloaded.out);
    const peeked = await ps.finished(await ps.add(translationJob('another line')));
    assert.deepEqual(peeked.providers, { en: 'upper' }, 'the kv_get found nothing, so the next stage translated');

    // Loops and memory blow-ups in two tenants while B keeps translating.
    const bad = [...Array.from({ length: 6 }, () => pl), ...Array.from({ length: 6 }, () => ph)];
    const badJobs = await Promise.all(bad.map((p, i) => p.add(translationJob(`bad ${i}`))));
    const goodJobs = await pb.addBulk(Array.from({ length: 300 }, (_, i) => ({ data: translationJob(`good ${i}`) })));
    const good = await Promise.all(goodJobs.map((j) => pb.finished(j)));
    good.forEach((r, i) => assert.equal(r.translations.en, `[en] good ${i}`));
    const failures = await Promise.all(badJobs.map((j, i) => bad[i].finished(j).then(() => 'completed', (e) => e.message)));
    failures.slice(0, 6).forEach((reason) => assert.match(reason, /spin.*(deadline|timed out|300ms)/i));
    failures.slice(6).forEach((reason) => assert.match(reason, /hog.*out of memory \(limit 16 MiB\)/));
    assert.equal(lingo.exit, null, 'the worker is still running');
    await lingo.stop();
  }));

  test('detect and glossary in one tenant\'s pipeline: lines that need no LLM skip it, names keep their channel\'s rendering; the other tenant is untouched', logged(async () => {
    const detect = 'name = "detect"\nplugin = "detect"\nphase = ["pre", "translate"]\nconfig = { languages = ["ko", "en", "ja"] }';
    const glossary = 'name = "glossary"\nplugin = "glossary"\nphase = ["pre", "post"]\nmetadata = ["channel"]\n'
      + 'config = { keep = ["Faker"], channels = { lck_en = { terms = { Faker = { en = "Faker-senpai" } } } } }';
    const spare = { id: 'spare', queue: queueName('spare'), pipeline: pipeline(detect, glossary, cache, vllm(s.llm)) };
    const plain = { id: 'plain', queue: queueName('plain'), pipeline: pipeline(vllm(s.llm)) };
    const lingo = await startHosted({ redis: s.redis, slots: 8, tenants: [spare, plain] });
    const [ps, pp] = [await producer(spare.queue), await producer(plain.queue)];
    const before = await s.llm.requests();

    const laugh = await ps.finished(await ps.add({ text: 'ㅋㅋㅋㅋ', targetLanguages: ['en', 'ja'] }));
    assert.deepEqual(laugh.providers, { en: 'detect:laughter', ja: 'detect:laughter' });
    assert.deepEqual(laugh.translations, { en: 'ㅋㅋㅋㅋ', ja: 'ㅋㅋㅋㅋ' });

    const line = { text: 'Faker 오늘 미쳤다', targetLanguages: ['ko', 'en'], channel: 'lck_en' };
    const named = await ps.finished(await ps.add(line));
    assert.equal(named.sourceLanguage, 'ko');
    assert.equal(named.providers.ko, 'detect:same-language');
    assert.equal(named.translations.en, '[en] Faker-senpai 오늘 미쳤다', 'the channel\'s rendering, put back after the model');
    assert.equal(await s.llm.requests() - before, 1, 'one model call: English');

    // The plain tenant has neither stage: its laughter goes to the model.
    const other = await pp.finished(await pp.add({ text: 'ㅋㅋㅋㅋ', targetLanguages: ['en'] }));
    assert.deepEqual(other.providers, { en: 'vllm' });
    assert.equal(other.sourceLanguage, null);
    await lingo.stop();
  }));

  test('hot reload under load: a stage added, a tenant added, a broken config refused, a tenant removed; no job lost or failed', logged(async () => {
    const admin = await freePort();
    const upper = misbehave('upper', '{ act = "upper" }');
    const a = { id: 'a', queue: queueName('reload-a'), pipeline: pipeline(vllm(s.llm)) };
    const b = { id: 'b', queue: queueName('reload-b'), pipeline: pipeline(vllm(s.llm)) };
    const c = { id: 'c', queue: queueName('reload-c'), pipeline: pipeline(upper) };
    const lingo = await startHosted({ redis: s.redis, slots: 64, admin, tenants: [a, b], args: ['--watch'] });
    const [pa, pb] = [await producer(a.queue), await producer(b.queue)];
    await s.llm.setFaults({ latency_ms: 5 });

    // 10,000 jobs flow for A and B, added in waves while the config changes.
    const added = { a: [], b: [] };
    const feeder = (async () => {
      for (let wave = 0; wave < 10; wave += 1) {
        added.a.push(...await pa.addBulk(Array.from({ length: 500 }, (_, i) => ({ data: translationJob(`a ${wave} ${i}`) }))));
        added.b.push(...await pb.addBulk(Array.from({ length: 500 }, (_, i) => ({ data: translationJob(`b ${wave} ${i}`) }))));
        await sleep(300);
      }
    })();

    await waitFor('some of A done', async () => (await finishedCount(pa, 'completed')) >= 500, { ms: 30_000 });
    // A's pipeline gains a stage in front (through --watch); C is added (through `lingo reload`).
    lingo.write('a.toml', pipeline(upper, vllm(s.llm)));
    await waitFor('the watched change applied', async () => (await healthz(admin)).config.reloads_applied >= 1, { ms: 10_000 });
    const afterChange = added.a.length;
    const withC = files({ redis: s.redis, slots: 64, admin, tenants: [a, b, c] });
    lingo.write('c.toml', withC['c.toml']);
    lingo.write('lingo.toml', withC['lingo.toml']);
    const applied = await reload(admin);
    assert.ok(applied.ok, applied.out);
    const pc = await producer(c.queue);
    const cJobs = await pc.addBulk(Array.from({ length: 100 }, (_, i) => ({ data: translationJob(`c ${i}`) })));

    // A broken pipeline for B: refused with its reason, the running one stays.
    lingo.write('b.toml', pipeline(vllm(s.llm) + '\nphase = "sideways"'));
    const refused = await reload(admin);
    assert.ok(!refused.ok, 'a broken config must be refused');
    assert.match(refused.out, /b\.toml: stage\[0\]\.phase: expected `pre`, `translate` or `post`, found `sideways`/);
    const health = await healthz(admin);
    assert.equal(health.config.last_reload, 'refused');
    assert.match(health.config.refused_because, /sideways/);

    await feeder;
    const settle = (p, jobs) => Promise.all(jobs.map((j) => p.finished(j).then((v) => ({ v }), (e) => ({ e: e.message }))));
    const [ra, rb, rc] = [await settle(pa, added.a), await settle(pb, added.b), await settle(pc, cJobs)];
    assert.equal(added.a.length + added.b.length, 10_000);
    for (const [name, results] of [['a', ra], ['b', rb], ['c', rc]]) {
      const failed = results.filter((r) => r.e);
      assert.equal(failed.length, 0, `tenant ${name}: ${failed.length} failed, e.g. ${failed[0]?.e}`);
    }
    // Jobs added after the change all ran on A's new pipeline; B never changed.
    ra.slice(afterChange).forEach((r, i) => assert.equal(r.v.providers.en, 'upper', `A job ${afterChange + i}`));
    assert.ok(ra.slice(0, 500).every((r) => r.v.providers.en === 'vllm'), 'the first wave ran on the old pipeline');
    rb.forEach((r) => assert.equal(r.v.providers.en, 'vllm'));
    rc.forEach((r, i) => assert.equal(r.v.translations.en, `C ${i}`));
    for (const p of [pa, pb, pc]) assert.equal(await finishedCount(p, 'failed'), 0);

    // B fixed and C removed: applied; C's queue is no longer consumed.
    lingo.write('b.toml', b.pipeline);
    lingo.write('lingo.toml', hostedToml({ redis: s.redis, slots: 64, admin, tenants: [a, b] }));
    const removed = await reload(admin);
    assert.ok(removed.ok, removed.out);
    const after = await healthz(admin);
    assert.deepEqual(after.tenants.map((t) => t.id), ['a', 'b']);
    assert.equal(after.config.last_reload, 'applied');
    const late = await pc.add(translationJob('late'));
    await sleep(500);
    assert.equal(await late.getState(), 'waiting');
    assert.equal((await pb.finished(await pb.add(translationJob('still here')))).providers.en, 'vllm');
    await s.llm.setFaults({ latency_ms: 50 });
    await lingo.stop();
  }));

  test('gateway in hosted mode: the API key selects the tenant; 401 without a known key, 429 over the rate; per-tenant CPU in /metrics', logged(async () => {
    const admin = await freePort();
    const upper = misbehave('upper', '{ act = "upper" }');
    const a = { id: 'a', queue: queueName('gw-a'), api_keys: ['key-of-tenant-a'], pipeline: pipeline(upper) };
    const b = { id: 'b', queue: queueName('gw-b'), api_keys: ['key-of-tenant-b'], jobs_per_second: 2, pipeline: pipeline(vllm(s.llm)) };
    const lingo = await startHosted({ redis: s.redis, slots: 8, admin, tenants: [a, b], cpuAccounting: true });
    const port = await freePort();
    const gateway = spawn(lingoBin(), ['gateway', '--config', lingo.config, '--listen', `127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      await waitFor('the gateway', () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false));
      const translate = (headers) => fetch(`http://127.0.0.1:${port}/api/v1/translate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ text: 'gateway line', targetLanguages: ['en'] }),
      });

      const none = await translate({});
      assert.equal(none.status, 401);
      assert.match((await none.json()).error.message, /API key is required/);
      const unknown = await translate({ authorization: 'Bearer not-a-key-at-all' });
      assert.equal(unknown.status, 401);
      assert.match((await unknown.json()).error.message, /not known/);

      const byBearer = await translate({ authorization: 'Bearer key-of-tenant-a' });
      assert.equal(byBearer.status, 200);
      assert.deepEqual((await byBearer.json()).translations, { en: 'GATEWAY LINE' }, 'tenant A\'s pipeline');
      const byHeader = await translate({ 'x-api-key': 'key-of-tenant-b' });
      assert.equal(byHeader.status, 200);
      assert.deepEqual((await byHeader.json()).translations, { en: '[en] gateway line' }, 'tenant B\'s pipeline');

      // B may make 2 requests a second (a burst of 2): of 6 at once, the rest get 429 with Retry-After.
      const burst = await Promise.all(Array.from({ length: 6 }, () => translate({ 'x-api-key': 'key-of-tenant-b' })));
      const limited = burst.filter((r) => r.status === 429);
      assert.ok(limited.length >= 3, `statuses: ${burst.map((r) => r.status)}`);
      for (const r of limited) {
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
        assert.match((await r.json()).error.message, /tenant `b` is over its 2 requests per second/);
      }
      // A's budget is its own.
      assert.equal((await translate({ authorization: 'Bearer key-of-tenant-a' })).status, 200);

      // /metrics carries every tenant's figures.
      const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
      assert.match(metrics, /lingo_jobs_total\{tenant="a",outcome="completed"\} [1-9]/);
      assert.match(metrics, /lingo_translations_total\{tenant="b",provider="vllm"\} [1-9]/);
      assert.match(metrics, /lingo_slots_held\{tenant="a"\} \d+/);
      assert.match(metrics, /lingo_queue_waiting\{tenant="b"\} 0/);
      // /healthz (what `lingo status` prints) counts each tenant's jobs by state.
      const jobs = Object.fromEntries((await healthz(admin)).tenants.map((t) => [t.id, t.jobs]));
      assert.ok(jobs.a.completed >= 2, JSON.stringify(jobs));
      assert.deepEqual(Object.keys(jobs.b).sort(), ['active', 'completed', 'delayed', 'failed', 'paused', 'prioritized', 'wait']);
      // With cpu_accounting: each tenant's job CPU, split by stage into the sandbox and the host calls.
      const cpu = (pattern) => Number(metrics.match(pattern)?.[1]);
      assert.ok(cpu(/lingo_job_cpu_seconds_total\{tenant="a"\} ([\d.]+)/) > 0, metrics);
      assert.ok(cpu(/lingo_stage_cpu_seconds_total\{tenant="a",stage="upper",part="sandbox"\} ([\d.]+)/) > 0, metrics);
      assert.ok(cpu(/lingo_stage_cpu_seconds_total\{tenant="b",stage="vllm",part="host_calls"\} ([\d.]+)/) > 0, metrics);
    } finally {
      gateway.kill('SIGTERM');
    }
    await lingo.stop();
  }));
});
