#!/usr/bin/env bash
# Redis + stand-in LLM + `lingo run` + this Node gateway, then one request.
# Ctrl-C stops everything.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lingo="$root/target/release/lingo"
[ -x "$lingo" ] || { echo "build first: make build" >&2; exit 1; }
[ -d "$here/node_modules" ] || (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
redis-server --port 6399 --save "" --appendonly no --dir "$dir" >/dev/null &
"$lingo" dev-llm --listen 127.0.0.1:8000 --latency 200ms 2>"$dir/llm.log" &
sleep 0.5
REDIS_URL=redis://127.0.0.1:6399 VLLM_URL=http://127.0.0.1:8000 USE_OLLAMA=false \
  "$lingo" run --config "$root/examples/pipeline.toml" 2>"$dir/worker.log" &
REDIS_URL=redis://127.0.0.1:6399 PORT=3000 node "$here/server.js" &
sleep 1.5
curl -s -X POST localhost:3000/api/v1/translate -H 'content-type: application/json' \
  -d '{"text": "테스트", "targetLanguages": ["en"]}'
echo
echo "gateway on http://localhost:3000 — Ctrl-C to stop"
wait
