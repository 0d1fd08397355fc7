#!/bin/bash
# Where lingo's worker spends its CPU on a cache-hit job, on bull and on
# bullmq side by side, and the bare Rust worker on bullmq beside them: the
# same pipeline (cache → tidy), the same prefilled queue, concurrency 4,
# from when the queue is resumed until its last job completes (start-up
# left out). Per job it prints:
# - the worker's CPU, Redis's CPU, and their ratio: Redis does the same work
#   for two builds of lingo, so the ratio cancels the machine's speed of the
#   moment (docs/PERFORMANCE.md, "Measuring on this machine");
# - the worker's context switches and system calls (`perf stat`);
# - with PROFILE=1, the functions that took the most CPU (`perf record` on
#   the CPU clock, a software event: this machine has no cycle counter;
#   sampling adds its own cost to the CPU figures).
# Needs `make build` and `make bench` run once (the Node producer).
# Usage: bench/tools/queue-profile.sh [OUT_DIR]
#   JOBS=20000 CONCURRENCY=4 LINGO=target/release/lingo PROFILE=0 HZ=10000 TOP=40 PIN=0
#   JOB_LOG=false: lingo without its job log (one Redis command a job fewer)
#   RECORD="…" replaces perf record's event options (e.g. --call-graph dwarf).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$(mktemp -d)}
PORT=${PORT:-6398}
JOBS=${JOBS:-20000}
CONCURRENCY=${CONCURRENCY:-4}
LINGO=${LINGO:-$ROOT/target/release/lingo}
PROFILE=${PROFILE:-0}
HZ=${HZ:-10000}
EVENTS=${EVENTS:-task-clock,context-switches,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_recvfrom,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_sched_yield}
R=redis://127.0.0.1:$PORT
mkdir -p "$OUT" && cd "$OUT"
# PIN=1: Redis on CPU 0 and the worker on CPU 1, so neither waits for the
# other's core (how Redis's CPU per job depends on the worker's, measured).
pin() { if [ "${PIN:-0}" = 1 ]; then exec taskset -c "$1" "${@:2}"; else exec "${@:2}"; fi; }
(pin 0 redis-server --port "$PORT" --save "" --appendonly no --daemonize yes --logfile "$OUT/redis.log")
trap 'redis-cli -p $PORT shutdown nosave >/dev/null 2>&1 || true' EXIT
sleep 0.3
for i in $(seq 0 99); do
  printf '{"text":"chat line %d from the bench","target":"en","translation":"translated: chat line %d from the bench"}\n' "$i" "$i"
done > known.jsonl
seq 0 99 | sed 's/.*/chat line & from the bench/' > lines.txt
produce() { node "$ROOT/bench/peers/node/produce.js" "$@" --redis "$R"; }

# Redis's CPU so far in µs, then its reads, writes and commands so far.
redis_counts() {
  redis-cli -p "$PORT" info all | tr -d '\r' | awk -F: '
    /^used_cpu_(sys|user):/ { cpu += $2 }
    /^total_(reads|writes|commands)_processed:/ { n[$1] = $2 }
    END { printf "%d %d %d %d\n", cpu * 1e6, n["total_reads_processed"], n["total_writes_processed"], n["total_commands_processed"] }'
}

# Runs worker $1 (a name; then its command) on its queue, of protocol $2.
measure() {
  local name=$1 protocol=$2; shift 2
  produce fill --protocol "$protocol" --queue "$name" --lines lines.txt --count "$JOBS" --paused 1
  pin 1 "$@" > "$name.log" 2>&1 &
  local worker=$!
  sleep 3
  local perfs=()
  if [ "$PROFILE" = 1 ] || [ -n "${RECORD:-}" ]; then
    # shellcheck disable=SC2086 # RECORD is a list of options
    perf record -q ${RECORD:--e cpu-clock -F $HZ} -p "$worker" -o "$name.perf" > /dev/null 2>&1 &
    perfs+=($!)
  fi
  perf stat -x, -e "$EVENTS" -p "$worker" -o "$name.stat" > /dev/null 2>&1 &
  perfs+=($!)
  sleep 0.5
  local before
  before=$(redis_counts)
  produce resume --protocol "$protocol" --queue "$name"
  until [ "$(redis-cli -p "$PORT" zcard "bull:$name:completed")" -ge "$JOBS" ]; do sleep 0.05; done
  echo "$before $(redis_counts)" > "$name.redis"
  kill -INT "${perfs[@]}"
  wait "${perfs[@]}" 2>/dev/null || true
  kill -TERM "$worker"
  wait "$worker" 2>/dev/null || true
}

WORKERS=(lingo-bull lingo-bullmq)
for protocol in bull bullmq; do
  cat > "$protocol.toml" <<TOML
[worker]
redis_url = "$R"
protocol = "$protocol"
queue = "lingo-$protocol"
concurrency = $CONCURRENCY
job_log = ${JOB_LOG:-true}

[[stage]]
name = "cache"
plugin = "cache"

[[stage]]
name = "tidy"
plugin = "postprocess"
phase = "post"
TOML
  "$LINGO" cache-import --config "$protocol.toml" known.jsonl > /dev/null
  measure "lingo-$protocol" "$protocol" "$LINGO" run --config "$protocol.toml"
done
# The bare Rust worker on bullmq (bench/peers/bare-worker), when built: its
# cache is one GET of `bench:tr:<lang>:<text>` per target.
BARE=$ROOT/target/release/bench-bare-worker
if [ -x "$BARE" ]; then
  while read -r line; do
    redis-cli -p "$PORT" set "bench:tr:en:$line" "translated: $line" > /dev/null
  done < lines.txt
  measure bare-bullmq bullmq "$BARE" --redis "$R" --queue bare-bullmq --concurrency "$CONCURRENCY"
  WORKERS+=(bare-bullmq)
fi

for name in "${WORKERS[@]}"; do
  echo "== $name, per job ($JOBS jobs, concurrency $CONCURRENCY)"
  # Redis's counts, after − before; its commands include those its scripts
  # run and the polling of `zcard` above (one per 50 ms).
  read -r cpu0 reads0 writes0 commands0 cpu1 reads1 writes1 commands1 < "$name.redis"
  awk -F, -v jobs="$JOBS" -v redis=$((cpu1 - cpu0)) -v reads=$((reads1 - reads0)) \
    -v writes=$((writes1 - writes0)) -v commands=$((commands1 - commands0)) '
    $3 == "task-clock" {
      worker = $1 * 1000 / jobs
      printf "%8.1f  µs of worker CPU\n%8.1f  µs of Redis CPU\n%8.2f  worker ÷ Redis\n", worker, redis / jobs, worker / (redis / jobs)
      printf "%8.2f  Redis reads\n%8.2f  Redis writes\n%8.2f  Redis commands\n", reads / jobs, writes / jobs, commands / jobs
      next
    }
    $3 != "" && $1 ~ /^[0-9]/ { printf "%8.2f  %s\n", $1 / jobs, $3 }' "$name.stat"
done
if [ "$PROFILE" = 1 ]; then
  # µs per job = samples / HZ / JOBS × 1e6.
  for name in "${WORKERS[@]}"; do
    perf report -i "$name.perf" --no-inline --no-children --sort symbol --stdio 2>/dev/null \
      | awk -v hz="$HZ" -v jobs="$JOBS" -v name="$name" -v top="${TOP:-40}" '
          /^# Samples:/ { n = $3; sub(/K$/, "000", n); printf "== %s: the top functions, µs of sampled CPU per job\n", name }
          /^ +[0-9.]+%/ && shown++ < top { pct = $1; sub(/%/, "", pct); $1 = ""; $2 = ""; printf "%7.2f  %s\n", pct / 100 * n / hz / jobs * 1e6, substr($0, 3, 140) }'
  done
fi
echo "data in $OUT"
