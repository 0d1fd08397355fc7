#!/usr/bin/env bash
# Installs what lingo's build, demo and tests need, and nothing that is
# already there: redis-server (apt), the wasm32-wasip2 Rust target (rustup),
# the Node packages of the interop tests and the example gateway (npm ci),
# and the official OpenAI and Ollama Python clients the stand-in LLM server is
# checked against (a venv, from PyPI). Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v redis-server >/dev/null 2>&1; then
  echo "setup: installing redis-server"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -qq redis-server >/dev/null 2>&1 \
    || { as_root apt-get update -qq && as_root apt-get install -y -qq redis-server; }
  # The package starts a system-wide server; lingo's tests and demo start their own.
fi

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  echo "setup: adding the wasm32-wasip2 Rust target"
  rustup target add wasm32-wasip2
fi

# npm ci only when the lock file changed since the last install.
for dir in tests/interop examples/gateway-node; do
  [ -f "$dir/package-lock.json" ] || continue
  stamp="$dir/node_modules/.lingo-installed"
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    echo "setup: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
done

# pip only when the requirements changed since the last install.
venv=target/clients-venv
if [ ! -f "$venv/.lingo-installed" ] || [ tests/clients/requirements.txt -nt "$venv/.lingo-installed" ]; then
  echo "setup: the OpenAI and Ollama Python clients in $venv"
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1 \
      || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    echo "setup: installing python3 and its venv module"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y -qq python3 python3-venv >/dev/null 2>&1 \
      || { as_root apt-get update -qq && as_root apt-get install -y -qq python3 python3-venv; }
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/clients/requirements.txt
  touch "$venv/.lingo-installed"
fi
