#!/usr/bin/env bash
# Redis + the stand-in LLM server (Ollama and OpenAI APIs, not a model) +
# the hosted worker + the gateway, then one request per tenant, their
# metrics, and a reload. Ctrl-C stops everything.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lingo="$root/target/release/lingo"
[ -x "$lingo" ] || { echo "build first: make build" >&2; exit 1; }

dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
export REDIS_URL=redis://127.0.0.1:6398 VLLM_URL=http://127.0.0.1:8010 OLLAMA_URL=http://127.0.0.1:8010
redis-server --port 6398 --save "" --appendonly no --dir "$dir" >/dev/null &
"$lingo" dev-llm --listen 127.0.0.1:8010 --latency 200ms 2>"$dir/llm.log" &
sleep 0.5
"$lingo" run --config "$here/lingo.toml" --watch 2>"$dir/worker.log" &
"$lingo" gateway --config "$here/lingo.toml" 2>"$dir/gateway.log" &
until curl -sf localhost:3000/healthz >/dev/null && curl -sf localhost:9464/healthz >/dev/null; do sleep 0.2; done

for key in streamhub-demo-key indiecast-demo-key; do
  echo "POST /api/v1/translate with X-API-Key: $key"
  curl -s -X POST localhost:3000/api/v1/translate -H 'content-type: application/json' -H "x-api-key: $key" \
    -d '{"text": "테스트", "targetLanguages": ["en", "ja"]}'
  echo
done
echo "without a key:"
curl -s -X POST localhost:3000/api/v1/translate -H 'content-type: application/json' -d '{"text": "hi", "targetLanguages": ["en"]}'
echo; echo
"$lingo" reload --admin 127.0.0.1:9464
curl -s localhost:9464/metrics | grep -E '^lingo_(jobs_total|translations_total|slots_held)'
echo
echo "gateway on http://localhost:3000, metrics on http://localhost:9464/metrics — Ctrl-C to stop"
wait
