#!/bin/bash
# The Redis commands of 200 LLM-bound bullmq jobs, for the bare Rust worker
# (bullmq-official) and for lingo, from MONITOR, counted by command: what
# each worker asks of Redis per job, script-internal commands included.
# Needs `make build` and `make bench` run once (the bare worker, the Node
# producer). Usage: bench/tools/redis-commands.sh [OUT_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$(mktemp -d)}
PORT=${PORT:-6399}
LLM_PORT=${LLM_PORT:-8011}
R=redis://127.0.0.1:$PORT
mkdir -p "$OUT" && cd "$OUT"
redis-server --port "$PORT" --save "" --appendonly no --daemonize yes --logfile "$OUT/redis.log"
"$ROOT/target/release/lingo" dev-llm --listen 127.0.0.1:$LLM_PORT --latency 1ms > llm.log 2>&1 &
LLM=$!
trap 'kill $LLM 2>/dev/null; redis-cli -p $PORT shutdown nosave >/dev/null 2>&1 || true' EXIT
sleep 0.5
seq 0 199 | sed 's/^/chat line /' > lines.txt
produce() { node "$ROOT/bench/peers/node/produce.js" "$@" --protocol bullmq --redis "$R"; }

# Runs a worker ($2...) on queue $1 while MONITOR records the 200 jobs.
run() {
  local queue=$1; shift
  produce fill --queue "$queue" --lines lines.txt --count 200 --paused 1
  "$@" > "$queue.out" 2>&1 &
  local worker=$!
  sleep 3
  redis-cli -p "$PORT" monitor > "$queue.monitor" &
  local monitor=$!
  sleep 0.3
  produce resume --queue "$queue"
  for _ in $(seq 1 200); do
    [ "$(redis-cli -p "$PORT" zcard "bull:$queue:completed")" = 200 ] && break
    sleep 0.1
  done
  sleep 0.5
  kill "$monitor" "$worker"
  wait "$worker" 2>/dev/null || true
}

run bare "$ROOT/target/release/bench-bare-worker" --redis "$R" --queue bare --concurrency 4 --llm "http://127.0.0.1:$LLM_PORT"
cat > lingo.toml <<TOML
[worker]
redis_url = "$R"
protocol = "bullmq"
queue = "lingo"
concurrency = 4
[[stage]]
name = "vllm"
plugin = "vllm"
allowed_hosts = ["http://127.0.0.1:$LLM_PORT"]
config = { url = "http://127.0.0.1:$LLM_PORT", model = "stand-in" }
TOML
run lingo "$ROOT/target/release/lingo" run --config lingo.toml

for queue in bare lingo; do
  echo "== $queue: commands (client and script) for 200 jobs"
  awk '{ print $4 }' "$queue.monitor" | sort | uniq -c | sort -rn
done
echo "MONITOR logs in $OUT"
