# The README's two commands: `make demo` and `make test`. Both set up what is
# missing first. One cargo profile (release) serves build, tests, demo and
# benchmarks, so nothing is compiled twice.
CARGO ?= cargo
LINGO := target/release/lingo

.PHONY: lint setup build test test-rust test-plugins test-interop test-clients test-faults test-faults-short test-bench demo bench fmt clippy

setup:
	@scripts/setup.sh

build: setup
	$(CARGO) build --release --workspace

test: build lint test-plugins test-rust test-interop test-clients test-faults-short test-bench

test-rust:
	$(CARGO) test --release --workspace

# The guests' pure logic, run natively.
test-plugins:
	$(CARGO) test --release --manifest-path plugins/Cargo.toml --target-dir target/plugins-native

test-interop: build
	cd tests/interop && LINGO_BIN=$(CURDIR)/$(LINGO) node --test --test-concurrency=1
	cd examples/gateway-node && LINGO_BIN=$(CURDIR)/$(LINGO) node --test test/

# The official `openai` and `ollama` Python clients must parse everything the
# stand-in LLM server sends.
test-clients: build
	target/clients-venv/bin/python -W ignore::ResourceWarning tests/clients/test_clients.py $(LINGO)

# The fault suite (tests/faults/): kill -9 loops, a Redis restart, a hostile
# tenant, a soak, SIGTERM; every scenario checks its targets. The full run
# writes docs/RELIABILITY.md (about 25 minutes); `make test` runs it short.
test-faults: build
	cd tests/faults && LINGO_BIN=$(CURDIR)/$(LINGO) node faults.js --out $(CURDIR)/docs/RELIABILITY.md

test-faults-short: build
	cd tests/faults && LINGO_BIN=$(CURDIR)/$(LINGO) node faults.js --short

# Only the binary, unoptimised (the dev profile): a fresh clone's first
# `make demo` waits for this build, and the release build takes twice as long.
demo: setup
	$(CARGO) build -p lingo
	target/debug/lingo demo

# lingo against its peer workers (bench/): installs the peers itself, writes
# docs/BENCHMARKS.md and docs/benchmarks.json. Takes about 45 minutes.
bench: build
	$(CARGO) run --release -p lingo-bench

# The same bench with every scenario tiny (no timings asserted), into
# target/bench-smoke/, so it cannot rot: part of `make test`.
test-bench: build
	$(CARGO) run --release -p lingo-bench -- --smoke

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --release --workspace -- -D warnings

# Formatting and clippy (-D warnings) in both workspaces: part of `make test`.
lint: setup
	$(CARGO) fmt --all --check
	cd plugins && $(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	$(CARGO) clippy --release --manifest-path plugins/Cargo.toml --target-dir target/plugins-native --all-targets -- -D warnings
