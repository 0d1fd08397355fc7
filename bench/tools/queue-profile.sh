#!/bin/bash
# Where lingo's worker spends its CPU on a cache-hit job, on bull and on
# bullmq side by side: the same pipeline (cache → tidy), the same prefilled
# queue, concurrency 4. `perf stat` counts the worker's context switches
# and system calls, and `perf record` samples the worker's CPU clock (a
# software event: this machine has no cycle counter) from when the queue is
# resumed until the last job completes, so start-up is left out. Prints the
# CPU per job and the functions that took the most of it, in µs per job.
# Needs `make build` and `make bench` run once (the Node producer).
# Usage: bench/tools/queue-profile.sh [OUT_DIR] (JOBS=20000 CONCURRENCY=4)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$(mktemp -d)}
PORT=${PORT:-6398}
JOBS=${JOBS:-20000}
HZ=${HZ:-10000}
# Counted alongside, per job: what the kernel does for the worker.
EVENTS=${EVENTS:-task-clock,context-switches,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_write,syscalls:sys_enter_read,syscalls:sys_enter_sched_yield}
CONCURRENCY=${CONCURRENCY:-4}
R=redis://127.0.0.1:$PORT
LINGO=${LINGO:-$ROOT/target/release/lingo}
mkdir -p "$OUT" && cd "$OUT"
redis-server --port "$PORT" --save "" --appendonly no --daemonize yes --logfile "$OUT/redis.log"
trap 'redis-cli -p $PORT shutdown nosave >/dev/null 2>&1 || true' EXIT
sleep 0.3
for i in $(seq 0 99); do
  printf '{"text":"chat line %d from the bench","target":"en","translation":"translated: chat line %d from the bench"}\n' "$i" "$i"
done > known.jsonl
seq 0 99 | sed 's/.*/chat line & from the bench/' > lines.txt

config() { # protocol
  cat > "$1.toml" <<TOML
[worker]
redis_url = "$R"
protocol = "$1"
queue = "$1"
concurrency = $CONCURRENCY

[[stage]]
name = "cache"
plugin = "cache"

[[stage]]
name = "tidy"
plugin = "postprocess"
phase = "post"
TOML
}

completed() { # protocol
  redis-cli -p "$PORT" zcard "bull:$1:completed"
}

for protocol in bull bullmq; do
  config "$protocol"
  "$LINGO" cache-import --config "$protocol.toml" known.jsonl > /dev/null
  node "$ROOT/bench/peers/node/produce.js" fill --protocol "$protocol" --redis "$R" --queue "$protocol" \
    --lines lines.txt --count "$JOBS" --paused 1
  "$LINGO" run --config "$protocol.toml" > "$protocol.log" 2>&1 &
  worker=$!
  until grep -q "Concurrency:" "$protocol.log" 2>/dev/null; do sleep 0.2; done
  sleep 1
  perf record -q ${RECORD:--e cpu-clock -F $HZ} -p "$worker" -o "$protocol.perf" > /dev/null 2>&1 &
  perf=$!
  perf stat -x, -e "$EVENTS" -p "$worker" -o "$protocol.stat" > /dev/null 2>&1 &
  stat=$!
  sleep 0.5
  node "$ROOT/bench/peers/node/produce.js" resume --protocol "$protocol" --redis "$R" --queue "$protocol"
  until [ "$(completed "$protocol")" -ge "$JOBS" ]; do sleep 0.05; done
  kill -INT "$perf" "$stat"
  wait "$perf" "$stat" 2>/dev/null || true
  kill -TERM "$worker"
  wait "$worker" 2>/dev/null || true
done

# µs per job = samples / HZ / JOBS × 1e6.
for protocol in bull bullmq; do
  echo "== $protocol: per job"
  awk -F, -v jobs="$JOBS" '$3 == "task-clock" { printf "%8.1f  µs of CPU\n", $1 * 1000 / jobs; next }
    $3 != "" && $1 ~ /^[0-9]/ { printf "%8.2f  %s\n", $1 / jobs, $3 }' "$protocol.stat"
done
for protocol in bull bullmq; do
  perf report -i "$protocol.perf" --no-inline --no-children --sort symbol --stdio 2>/dev/null \
    | awk -v hz="$HZ" -v jobs="$JOBS" -v name="$protocol" -v top="${TOP:-40}" '
        /^# Samples:/ { n = $3; sub(/K$/, "000", n); printf "== %s: %.1f µs of worker CPU per job (%d jobs)\n", name, n / hz / jobs * 1e6, jobs }
        /^ +[0-9.]+%/ && shown++ < top { pct = $1; sub(/%/, "", pct); $1 = ""; $2 = ""; printf "%7.2f µs  %s\n", pct / 100 * n / hz / jobs * 1e6, substr($0, 3, 140) }'
done
echo "perf data in $OUT"
