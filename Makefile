# Pacer: `make test` runs every test of the repository (CI calls it through .ci/run).
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: test lint rust-test bench deps

test: deps lint rust-test

deps:
	scripts/ensure-deps rust

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace

bench: deps
	scripts/bench-core
