//! `BENCHMARKS.md`: the headline ratios first (the machine is shared and
//! noisy, so ratios of workers measured in the same rep say more than
//! absolute figures), then one table per scenario, the machine and versions,
//! and how everything was measured. Cells are `median (min–max)` of the reps.

use std::fmt::Write as _;

use super::Results;
use crate::stats::Spread;
use crate::workers::{Protocol, Worker};

pub fn render(r: &Results) -> String {
    let mut md = String::new();
    let f = &r.facts;
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `make bench` (`cargo run --release -p lingo-bench`{}) on {}; do not edit by hand. \
         Every figure is the median (min–max) of {} rep(s); within a rep the workers run one after another \
         against the same `redis-server`, on the same jobs.\n",
        if r.plan.smoke { " -- --smoke" } else { "" },
        f.date,
        r.plan.reps
    );
    headline(&mut md, r);
    throughput(&mut md, r);
    llm(&mut md, r);
    open_loop(&mut md, r);
    gateway(&mut md, r);
    memory(&mut md, r);
    stage_call(&mut md, r);
    cpu_split(&mut md, r);
    js_stage(&mut md, r);
    savings(&mut md, r);
    machine(&mut md, r);
    method(&mut md);
    md
}

fn headline(md: &mut String, r: &Results) {
    if r.headline.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Headline: lingo against its peers\n");
    let _ = writeln!(
        md,
        "Cache-hit throughput on a pre-filled queue. *Speed* is lingo's jobs/s ÷ the peer's \
         (above 1×: lingo is faster); *CPU* is lingo's worker CPU per job ÷ the peer's (below 1×: lingo is cheaper). \
         Ratios are taken within each rep, then the median (min–max) of the reps.\n"
    );
    let _ =
        writeln!(md, "| protocol | concurrency | jobs | peer | speed | CPU per job |\n|---|---:|---:|---|---:|---:|");
    for ratio in &r.headline {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            ratio.protocol.id(),
            ratio.concurrency,
            ratio.jobs,
            ratio.peer.label(),
            times(ratio.throughput),
            times(ratio.worker_cpu)
        );
    }
    if let Some(worst) = r
        .llm
        .iter()
        .filter(|row| row.worker == Worker::Lingo && row.concurrency == 100)
        .map(|row| row.percent_of_ideal().median)
        .reduce(f64::min)
    {
        let _ = writeln!(
            md,
            "\nLLM-bound (stand-in at {} ms), 100 slots: lingo reaches {worst:.0}% of slots/latency.",
            r.plan.llm_latency_ms,
        );
    }
    if let Some(most) = r.llm.iter().map(|row| row.concurrency).max() {
        let protocols: Vec<String> = Protocol::ALL
            .iter()
            .map(|&protocol| {
                let shares: Vec<String> = r
                    .llm
                    .iter()
                    .filter(|row| row.protocol == protocol && row.concurrency == most)
                    .map(|row| format!("{} {:.0}%", row.worker.label(), row.percent_of_ideal().median))
                    .collect();
                format!("{}: {}", protocol.id(), shares.join(", "))
            })
            .collect();
        let _ = writeln!(md, "At {most} slots, of slots/latency: {}.", protocols.join("; "));
    }
    md.push('\n');
}

fn throughput(md: &mut String, r: &Results) {
    if r.throughput.is_empty() {
        return;
    }
    let _ = writeln!(md, "## 1. Cache-hit throughput, queue pre-filled\n");
    let _ = writeln!(
        md,
        "{} distinct cached lines; each job one Redis GET and the same return value (lingo: `cache` → `postprocess` stages; \
         the peers: a GET of `bench:tr:<lang>:<text>` in their processor). The longer runs cycle through the same lines, \
         without BullMQ Python (about three minutes a run). Worker CPU from `/proc/<pid>/stat`, \
         Redis CPU and commands from `INFO` deltas (commands inside Lua scripts included), peak RSS is VmHWM.\n",
        r.plan.jobs
    );
    let _ = writeln!(
        md,
        "| protocol | concurrency | jobs | worker | jobs/s | worker CPU µs/job | Redis CPU µs/job | Redis cmds/job | peak RSS MiB |\n|---|---:|---:|---|---:|---:|---:|---:|---:|"
    );
    for row in &r.throughput {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.protocol.id(),
            row.concurrency,
            row.jobs,
            name(row.worker),
            cell(row.spread(|m| m.jobs_per_s)),
            cell(row.spread(|m| m.worker_cpu_us_per_job)),
            cell(row.spread(|m| m.redis_cpu_us_per_job)),
            cell(row.spread(|m| m.redis_calls_per_job)),
            cell(row.spread(|m| m.peak_rss_mib)),
        );
    }
    md.push('\n');
}

fn llm(md: &mut String, r: &Results) {
    if r.llm.is_empty() {
        return;
    }
    let _ = writeln!(md, "## 2. LLM-bound: the seed's table\n");
    let _ = writeln!(
        md,
        "lingo with a `vllm` stage pointed at the stand-in LLM server (`lingo dev-llm`, not a model) answering after \
         {} ms, then `postprocess`; no cache, every line unique. The peers send the same chat request natively, \
         through one pooled HTTP client (BullMQ Python, whose worker does only the cache hit, is left out). \
         The ideal is slots ÷ latency (the seed claims ~{} jobs/s per slot).\n",
        r.plan.llm_latency_ms,
        1000 / r.plan.llm_latency_ms.max(1)
    );
    let _ = writeln!(
        md,
        "| protocol | concurrency | jobs | worker | jobs/s | ideal jobs/s | % of ideal | worker CPU µs/job |\n|---|---:|---:|---|---:|---:|---:|---:|"
    );
    for row in &r.llm {
        let cpu = Spread::of(row.runs.iter().map(|m| m.worker_cpu_us_per_job));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            row.protocol.id(),
            row.concurrency,
            row.jobs,
            name(row.worker),
            cell(row.jobs_per_s()),
            num(row.ideal_jobs_per_s),
            cell(row.percent_of_ideal()),
            cell(cpu)
        );
    }
    md.push('\n');
}

fn open_loop(md: &mut String, r: &Results) {
    if r.open_loop.is_empty() {
        return;
    }
    let _ = writeln!(md, "## 3. Open loop: a producer at a fixed rate\n");
    let _ = writeln!(
        md,
        "The npm producer adds cache-hit jobs at the rate for {} s while the worker (concurrency {}) takes them. \
         Latency is `finishedOn − timestamp` from the job hashes. A worker that cannot keep up leaves a backlog after \
         {} s of drain; its latencies are those of the jobs it finished.\n",
        r.plan.open_loop_seconds, r.plan.open_loop_concurrency, r.plan.drain_seconds
    );
    let _ = writeln!(
        md,
        "| protocol | rate/s | worker | added/s | done/s | p50 ms | p99 ms | max ms | backlog | failed | worker CPU µs/job |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in &r.open_loop {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.protocol.id(),
            row.rate,
            name(row.worker),
            cell(row.spread(|m| m.added_per_s)),
            cell(row.spread(|m| m.done_per_s)),
            int_cell(row.spread(|m| m.p50_ms as f64)),
            int_cell(row.spread(|m| m.p99_ms as f64)),
            int_cell(row.spread(|m| m.max_ms as f64)),
            int_cell(row.spread(|m| m.backlog as f64)),
            int_cell(row.spread(|m| m.failed as f64)),
            cell(row.spread(|m| m.worker_cpu_us_per_job)),
        );
    }
    md.push('\n');
}

fn gateway(md: &mut String, r: &Results) {
    if r.gateway.is_empty() {
        return;
    }
    let _ = writeln!(md, "## 4. Gateway end to end\n");
    let _ = writeln!(
        md,
        "`lingo gateway` and a `lingo run` worker (concurrency {}) on one queue; a Rust client POSTs cache-hit lines \
         to `/api/v1/translate` at the rate for {} s, without waiting for answers before sending more. Latency is the \
         HTTP round trip of the requests answered 200 with the known translation; CPU is gateway and worker together.\n",
        r.plan.open_loop_concurrency, r.plan.gateway_seconds
    );
    let _ = writeln!(
        md,
        "| protocol | worker | rate/s | sent/s | ok | errors | p50 ms | p99 ms | max ms | CPU µs/request |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in &r.gateway {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.protocol.id(),
            name(row.worker),
            row.rate,
            cell(row.spread(|m| m.sent_per_s)),
            int_cell(row.spread(|m| m.ok as f64)),
            int_cell(row.spread(|m| m.errors as f64)),
            cell(row.spread(|m| m.p50_ms)),
            cell(row.spread(|m| m.p99_ms)),
            cell(row.spread(|m| m.max_ms)),
            cell(row.spread(|m| m.cpu_us_per_request)),
        );
    }
    if let Some(error) = r.gateway.iter().flat_map(|row| &row.runs).find_map(|m| m.first_error.as_ref()) {
        let _ = writeln!(md, "\nFirst error seen: `{error}`");
    }
    md.push('\n');
}

fn memory(md: &mut String, r: &Results) {
    if r.memory.is_empty() {
        return;
    }
    let _ = writeln!(md, "## 6. Memory with every slot busy\n");
    let _ = writeln!(
        md,
        "lingo with the `vllm` stage against the stand-in answering after {} s, so every slot holds a job in flight. \
         RSS when ready and idle, after a second with every slot active, and the peak (VmHWM). \
         Busy PSS beside it: RSS counts a shared file page once per mapping, and each live instance maps \
         its plugin's read-only data image (about 32 KiB of page cache) anew.\n",
        r.plan.memory_latency_s
    );
    let _ = writeln!(
        md,
        "| protocol | worker | slots busy | idle RSS MiB | busy RSS MiB | busy PSS MiB | peak RSS MiB |\n|---|---|---:|---:|---:|---:|---:|"
    );
    for row in &r.memory {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.protocol.id(),
            name(row.worker),
            row.slots,
            cell(row.spread(|m| m.idle_rss_mib)),
            cell(row.spread(|m| m.busy_rss_mib)),
            cell(row.spread(|m| m.busy_pss_mib)),
            cell(row.spread(|m| m.peak_rss_mib))
        );
    }
    md.push('\n');
}

fn stage_call(md: &mut String, r: &Results) {
    if r.stage_call.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Per-call overhead (criterion)\n");
    let _ = writeln!(
        md,
        "`cargo bench -p lingo-engine --bench stage_call`, run once by the bench: one `process` on a warm instance \
         (`instances = \"reuse\"`, the default) and on a fresh one from `InstancePre` (`instances = \"fresh\"`: \
         instantiate, call, drop); and a three-stage chain (pre tidy → cache hit on an in-memory kv → post tidy) \
         in each mode. The mean is criterion's; p50/p99 over 20,000 timed calls.\n"
    );
    let _ = writeln!(md, "| benchmark | mean µs | p50 µs | p99 µs |\n|---|---:|---:|---:|");
    for row in &r.stage_call {
        let _ = writeln!(md, "| {} | {} | {} | {} |", row.name, num(row.mean_us), num(row.p50_us), num(row.p99_us));
    }
    md.push('\n');
}

fn cpu_split(md: &mut String, r: &Results) {
    if r.cpu_split.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Where lingo's CPU per cache-hit job goes\n");
    let _ = writeln!(
        md,
        "lingo alone, in both instance modes, the throughput scenario's jobs at each of its concurrencies, three times per rep: as everywhere else (*uncounted*), \
         and with `[worker] cpu_accounting` on, whose `/metrics` splits the counted run's worker CPU (from `/proc`). \
         *Queue and the rest* is the worker's CPU outside its jobs: the queue protocol, both Redis connections' I/O \
         (the kv GET's included), tokio, the log. *Job* is parsing the data, the pipeline and the return value. \
         *Sandbox* is wasmtime and the guests: the guest's code, and with fresh instances a new store and instance per stage call and its drop. \
         *Host calls* are the stages' `kv` and `log` calls. *Counting* is the counted run's worker CPU − the uncounted run's, \
         within the rep: two reads of the thread's CPU clock per poll. *Job log* is what writing each job's stage trace as \
         its log costs (`[worker] job_log`, on by default): the uncounted run's worker and Redis CPU − a third run's with \
         `job_log = false`. All figures µs per job.\n"
    );
    let _ = writeln!(
        md,
        "| protocol | lingo | concurrency | jobs | worker, uncounted | worker, counted | queue and the rest | job | sandbox | host calls | counting | job log, worker | job log, Redis |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in &r.cpu_split {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.protocol.id(),
            name(row.worker),
            row.concurrency,
            row.jobs,
            cell(row.spread(|rep| rep.plain.worker_cpu_us_per_job)),
            cell(row.spread(|rep| rep.counted.worker_cpu_us_per_job)),
            cell(row.spread(|rep| rep.split.queue_and_rest)),
            cell(row.spread(|rep| rep.split.job)),
            cell(row.spread(|rep| rep.split.sandbox)),
            cell(row.spread(|rep| rep.split.host_calls)),
            cell(row.spread(|rep| rep.counted.worker_cpu_us_per_job - rep.plain.worker_cpu_us_per_job)),
            cell(row.spread(|rep| rep.plain.worker_cpu_us_per_job - rep.unlogged.worker_cpu_us_per_job)),
            cell(row.spread(|rep| rep.plain.redis_cpu_us_per_job - rep.unlogged.redis_cpu_us_per_job)),
        );
    }
    md.push('\n');
}

fn js_stage(md: &mut String, r: &Results) {
    let Some(first) = r.js_stage.first() else { return };
    let _ = writeln!(md, "## A JavaScript stage in the worker\n");
    let _ = writeln!(
        md,
        "lingo on the throughput scenario's cache-hit jobs with its post stage written in JavaScript \
         (`bench/js-stage/src/tidy.js`, built with componentize-js into a {:.1} MiB component) in place of `postprocess`, \
         in both instance modes, with `cpu_accounting` on. *Stage CPU* is the JavaScript stage's sandbox CPU per call \
         (the JS engine and the stage's code; with fresh instances also their instantiation and drop); *stage time* is its \
         time per call in the worker, waits for a CPU included. The call alone, outside the worker, is in the per-call table above.\n",
        first.component_mib
    );
    let _ = writeln!(
        md,
        "| protocol | lingo | concurrency | jobs | jobs/s | worker CPU µs/job | stage CPU µs/call | stage time µs/call |\n\
         |---|---|---:|---:|---:|---:|---:|---:|"
    );
    for row in &r.js_stage {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            row.protocol.id(),
            name(row.worker),
            row.concurrency,
            row.jobs,
            cell(row.spread(|rep| rep.run.jobs_per_s)),
            cell(row.spread(|rep| rep.run.worker_cpu_us_per_job)),
            cell(row.spread(|rep| rep.call_cpu_us)),
            cell(row.spread(|rep| rep.call_us)),
        );
    }
    md.push('\n');
}

fn savings(md: &mut String, r: &Results) {
    let (Some(without), Some(with)) =
        (r.savings.iter().find(|row| !row.spare_the_llm), r.savings.iter().find(|row| row.spare_the_llm))
    else {
        return;
    };
    let _ = writeln!(
        md,
        "## What never needed an LLM
"
    );
    let _ = writeln!(
        md,
        "{} lines of the `lingo-chat` corpus (58 % sentences, Korean, English and Japanese; 28 % laughter; 7 % emotes; \
         7 % emoji, scores, mentions or links: `runtime/chat/src/lib.rs`), each into ko, en and ja with its channel, \
         through lingo on bull with `cache → vllm` (the stand-in), then with `detect → glossary` in front. \
         Each run has its own cache; the LLM requests are the stand-in's own count.\n",
        with.lines
    );
    let _ = writeln!(
        md,
        "| pipeline | translations | LLM requests | per 1,000 lines | without the LLM |\n|---|---:|---:|---:|---:|"
    );
    for (row, label) in [(without, "cache → vllm"), (with, "detect → glossary → cache → vllm")] {
        let _ = writeln!(
            md,
            "| {label} | {} | {} | {:.0} | {:.1} % |",
            row.translations,
            row.llm_requests,
            row.llm_requests_per_1000_lines,
            row.without_llm_share() * 100.0
        );
    }
    let _ = writeln!(md, "\nWho answered each translation, with `detect` in front:\n");
    let _ = writeln!(md, "| answered by | translations | share |\n|---|---:|---:|");
    for (who, n) in &with.answered_by {
        let _ = writeln!(md, "| {who} | {n} | {:.1} % |", *n as f64 * 100.0 / with.translations.max(1) as f64);
    }
    let _ = writeln!(
        md,
        "\nDetection, on the {} lines whose language the corpus knows: {} reported a language ({:.1} %), \
         {} of them the right one ({:.1} % of those reported, {:.1} % of all). \
         `detect` cost {:.1} µs of CPU a job (both phases, three targets), {:.1} % of the worker's {:.1} µs a job.\n",
        with.known_language_lines,
        with.detected,
        with.detected as f64 * 100.0 / with.known_language_lines.max(1) as f64,
        with.detected_right,
        with.detected_right as f64 * 100.0 / with.detected.max(1) as f64,
        with.detected_right as f64 * 100.0 / with.known_language_lines.max(1) as f64,
        with.detect_cpu_us_per_job,
        with.detect_cpu_us_per_job * 100.0 / with.run.worker_cpu_us_per_job.max(f64::MIN_POSITIVE),
        with.run.worker_cpu_us_per_job
    );
}

fn machine(md: &mut String, r: &Results) {
    let f = &r.facts;
    let v = &f.versions;
    let _ = writeln!(md, "## Machine and versions\n");
    let _ = writeln!(md, "- machine: {} cores, {}, {} GiB, {}", f.nproc, f.cpu_model, f.memory_gib, f.kernel);
    let _ = writeln!(
        md,
        "- load average (1, 5, 15 min): {} before, {} after — a shared machine: other work adds noise",
        f.load_before, f.load_after
    );
    let _ =
        writeln!(md, "- lingo {} (release), redis-server {}, node {}, {}", v.lingo, v.redis_server, v.node, v.python);
    let _ = writeln!(
        md,
        "- npm `bullmq` {}, npm `bull` {}, PyPI `bullmq` {}, crate `bullmq-official` {}\n",
        v.npm_bullmq, v.npm_bull, v.pypi_bullmq, v.bullmq_official
    );
}

fn method(md: &mut String) {
    md.push_str(
        "## How it is measured\n\n\
         - One `redis-server` (no persistence) for the whole bench; each run has its own queue, deleted afterwards.\n\
         - Pre-filled runs: the npm producer pauses the queue and adds the jobs; the worker starts and is ready \
         (its ready line, then its CPU quiet); the window opens and the queue is resumed; it closes when every job \
         is finished. Jobs/s is jobs ÷ (last `finishedOn` − first `processedOn`). Every return value is checked.\n\
         - lingo runs with its default logging (a line per job on stderr, to a file); the peers log nothing.\n\
         - lingo runs twice wherever it runs: as configured by default (warm instances, reused within one tenant's \
         stage) and as *lingo, fresh instances* (`instances = \"fresh\"` on every stage: a new instance per call).\n\
         - Peers: `bench/peers/` — npm `bullmq` and `bull` workers, the PyPI `bullmq` worker (venv), and a bare Rust \
         worker on `bullmq-official` with a native processor (no WebAssembly, no pipeline): the floor under lingo.\n\
         - The stand-in LLM server is `lingo dev-llm`, not a model. Outputs: this file and `benchmarks.json` (every rep).\n",
    );
}

fn name(worker: Worker) -> String {
    if worker.is_lingo() { format!("**{}**", worker.label()) } else { worker.label().into() }
}

/// `median (min–max)`, or just the median when all reps agree or there is one.
fn cell(s: Spread) -> String {
    if s.median.is_nan() {
        return "–".into();
    }
    if num(s.min) == num(s.max) {
        num(s.median)
    } else {
        format!("{} ({}–{})", num(s.median), num(s.min), num(s.max))
    }
}

/// The same for counts and whole milliseconds.
fn int_cell(s: Spread) -> String {
    if s.median.is_nan() {
        return "–".into();
    }
    if s.min == s.max { format!("{:.0}", s.median) } else { format!("{:.0} ({:.0}–{:.0})", s.median, s.min, s.max) }
}

fn times(s: Spread) -> String {
    if s.median.is_nan() {
        return "–".into();
    }
    if s.min == s.max {
        format!("{:.2}×", s.median)
    } else {
        format!("{:.2}× ({:.2}–{:.2})", s.median, s.min, s.max)
    }
}

/// Three significant figures or so.
fn num(x: f64) -> String {
    // A difference of equal readings is 0, not -0.
    let x = if x == 0.0 { 0.0 } else { x };
    match x.abs() {
        v if v >= 100.0 => format!("{x:.0}"),
        v if v >= 10.0 => format!("{x:.1}"),
        _ => format!("{x:.2}"),
    }
}
