# The README's two commands: `make demo` and `make test`. Both set up what is
# missing first. One cargo profile (release) serves build, tests, demo and
# benchmarks, so nothing is compiled twice.
CARGO ?= cargo
LINGO := target/release/lingo

.PHONY: setup build test test-rust test-plugins test-interop demo bench fmt clippy

setup:
	@scripts/setup.sh

build: setup
	$(CARGO) build --release --workspace

test: build test-plugins test-rust test-interop

test-rust:
	$(CARGO) test --release --workspace

# The guests' pure logic, run natively.
test-plugins:
	$(CARGO) test --release --manifest-path plugins/Cargo.toml --target-dir target/plugins-native

test-interop: build
	cd tests/interop && LINGO_BIN=$(CURDIR)/$(LINGO) node --test --test-concurrency=1
	cd examples/gateway-node && LINGO_BIN=$(CURDIR)/$(LINGO) node --test test/

demo: build
	$(LINGO) demo

bench: build
	$(CARGO) bench --workspace

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --release --workspace -- -D warnings
