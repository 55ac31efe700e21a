# The two set-up commands of neurovox: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PY := $(CURDIR)/.venv/bin/python
export NEUROVOX_PYTHON := $(PY)

.PHONY: run test deps build bench fmt lint

deps:
	@scripts/install-deps.sh

build: deps
	cargo build --release --workspace

## The main job on embedded defaults: synthetic 128-channel ECoG in real time → input guard →
## streaming high gamma → online speech-responsive channels, with a live summary (Ctrl-C stops).
run: build
	target/release/neurovox run

## Every test, with the Python reference peers required (nothing may skip).
test: deps
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	NEUROVOX_REQUIRE_PEERS=1 cargo test --workspace

## Speed figures for BENCHMARKS.md (not part of `make test`).
bench: deps
	cargo bench --bench streaming_hg -- --warm-up-time 1 --measurement-time 3
	scripts/bench-offline-hg.sh

fmt:
	cargo fmt --all
