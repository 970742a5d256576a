# Pacer. `make test` runs every test of the repository (CI calls it through .ci/run).
SHELL := /bin/bash
CARGO ?= cargo
GRADLE ?= gradle --offline --no-daemon -q
PYTEST := .venv/spark-3.5/bin/python -m pytest
# The recorded job-level traces (public, from dos-group/enel-experiments; not in the repository):
# read by the replay tests and `make evaluate`. Relative paths are taken from the repository root.
TRACES_DIR ?= ../shared/traces
# Sessions recorded between Pacer's listener and the original Ellis bridge (third-party code, so
# not in the repository): read by the protocol tests.
FIXTURES_DIR ?= ../shared/fixtures
export TRACES_DIR FIXTURES_DIR

.PHONY: test deps lint rust-test java-api-check dist bridge proxy e2e bench bench-core bench-bridge bench-scrape bench-external evaluate evaluate-held-out demo demo-external compare fuzz clean

test: deps lint rust-test dist java-api-check e2e

deps:
	scripts/ensure-deps rust jvm python browser

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace

# The Spark 3.5 jar is Java 8 bytecode: check that the sources use only the Java 8 API.
java-api-check:
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	  javac --release 8 -nowarn -Xlint:-path -d "$$out" -cp "$$(scripts/spark-jars 3.5)/*" \
	    $$(find jvm-shim/src/main/java -name '*.java') && echo "java-api-check: Java 8 API only"

# dist/libpacer.so and the two listener jars, each with the .so inside.
dist:
	$(CARGO) build --release -p pacer-core
	mkdir -p dist
	cp target/release/libpacer.so dist/libpacer.so
	$(GRADLE) -Pspark35Jars="$$(scripts/spark-jars 3.5)" -Pspark40Jars="$$(scripts/spark-jars 4.0)" \
	  -PnativeLib="$(CURDIR)/target/release/libpacer.so" -PdistDir="$(CURDIR)/dist" dist

# The release build of pacer-bridge (used by the e2e tests and the benchmarks).
bridge:
	$(CARGO) build --release -p pacer-bridge

# The release build of pacer-proxy (the external pool's dispatcher and worker agents).
proxy:
	$(CARGO) build --release -p pacer-proxy

e2e: deps dist bridge proxy
	$(PYTEST) -q tests/e2e

bench: deps bench-core bench-bridge

bench-core:
	scripts/bench-core

bench-bridge: deps bridge
	.venv/spark-3.5/bin/python bench/bridge_throughput.py

# Message handling with and without a Prometheus scraper polling /metrics every 100 ms.
bench-scrape: deps bridge
	.venv/spark-3.5/bin/python bench/scrape_overhead.py

# External executors against the cluster manager's own: start-up delay and task throughput.
bench-external: deps dist bridge proxy
	.venv/spark-3.5/bin/python bench/external_executors.py
	.venv/spark-4.0/bin/python bench/external_executors.py --version 4.0

# Replays the traces under every policy: the tables of docs/EVALUATION.md and its figure.
# LATE_MINUTE_PRICE=P: pacer replayed with `--late-minute-price P` (docs/POLICY.md).
EVALUATE_FLAGS = $(if $(LATE_MINUTE_PRICE),--late-minute-price $(LATE_MINUTE_PRICE))

evaluate: bridge
	python3 bench/evaluate.py $(EVALUATE_FLAGS)

evaluate-held-out: bridge
	python3 bench/evaluate.py --held-out $(EVALUATE_FLAGS)

# Pacer meeting a runtime target on a local Spark cluster; the report's path is the last line.
demo: deps dist bridge
	.venv/spark-3.5/bin/python scripts/demo.py

# Pacer bursting from a cluster manager that is too small to external executors; the report's
# path is the last line.
demo-external: deps dist bridge proxy
	.venv/spark-3.5/bin/python scripts/demo_external.py

# Pacer against Spark's dynamic allocation and static allocations on a local Spark cluster, two
# workloads, 3 interleaved runs per configuration (docs/EVALUATION.md); the report's path is the
# last line, results.json beside it. The reduced version is tests/e2e/test_compare.py.
compare: deps dist bridge
	.venv/spark-3.5/bin/python scripts/compare.py

# Runs each fuzz target for FUZZ_SECONDS (cargo-fuzz on the stable toolchain, no sanitizer).
FUZZ_SECONDS ?= 60
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for target in bridge_decode core_reply; do \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --sanitizer none $$target -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

clean:
	$(CARGO) clean
	rm -rf dist build .gradle
