# frontdoor: two commands on a fresh machine, `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := test

# Builds are slow here: keep one target directory outside the clone, so a fresh
# clone on the same machine (CI) reuses it.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/frontdoor/target
# The venv is keyed by the pinned requirements, so a change to them makes a new one.
VENV ?= $(HOME)/.cache/frontdoor/venv-$(shell sha256sum requirements-dev.txt | cut -c1-12)
CHECKOV_VENV ?= $(HOME)/.cache/frontdoor/checkov-$(shell sha256sum requirements-checkov.txt | cut -c1-12)
export PATH := $(VENV)/bin:$(PATH)
export VENV CHECKOV_VENV

# The four functions only, by package: the operator CLI is not a Lambda
# bootstrap, and its `operator` feature must not reach the functions' build.
FUNCTION_PACKAGES := -p eni-targets -p target-sync -p prefix-list-ingress -p health-probe

.PHONY: venv venv-path check test test-rust test-install test-template lint build-arm64 demo bench fuzz clean

venv: $(VENV)/.installed $(CHECKOV_VENV)/.installed
	@echo "venv: $(VENV) (put $(VENV)/bin first on PATH, or: export PATH=\"\$$(make -s venv-path):\$$PATH\")"
# The venv's bin folder, for PATH: the one keyed by today's pins, never a stale one.
venv-path:
	@echo $(VENV)/bin
$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# ruff (pinned in requirements-dev.txt, configured in ruff.toml) checks the Python first: it takes seconds.
lint: venv
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# The fast loop: formatting, lints and the library's unit tests, with no
# emulator and no template tools. One integration test: see docs/development.md.
check:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo test --workspace --lib --bins

# The Rust suite runs against a moto_server that scripts/with-moto starts and stops.
test-rust: venv
	scripts/with-moto cargo test --workspace --all-targets

test-template: venv
	scripts/check-template

test: lint test-rust test-install demo test-template

# The operator CLI installed the documented way (README), into a throw-away
# root, and run from there. A debug build on the shared target directory: the
# install resolves the CLI's features alone (no dev-dependencies), so it
# builds its own artifacts once (about 8 minutes cold on two cores), and
# reuses them after.
test-install:
	set -euo pipefail; root=$$(mktemp -d); trap 'rm -rf "$$root"' EXIT; \
	cargo install --quiet --locked --debug --path crates/frontdoor-cli --root "$$root"; \
	"$$root/bin/frontdoor" --help; echo "test-install: the installed frontdoor runs"

build-arm64: venv
	cargo lambda build --release --arm64 $(FUNCTION_PACKAGES)

clean:
	cargo clean

# The whole lifecycle on a local AWS emulator (moto_server), with the four real
# binaries on the Lambda Runtime API of `cargo lambda watch --only-lambda-apis`.
# demo/demo.py runs `cargo build --workspace --all-targets` (with a progress
# line): the same features and artifacts as test-rust's `cargo test`, so after
# it nothing is compiled again. It starts the binaries from
# $(CARGO_TARGET_DIR)/debug itself, stops everything by PID, and names the step
# that failed.
# demo/ and bench/ run as modules from the root, and import tools/frontdoor_dev.
demo: venv
	PYTHONPATH=$(CURDIR)/tools $(VENV)/bin/python -m demo.demo

# docs/benchmarks.md. The native release binaries are timed; the arm64 ones are
# sized. BENCH_PROFILES=1 first rebuilds eni-targets for arm64 once per
# release-profile variant (about 13 minutes each on two cores); the table is
# rendered from bench/results/, so `PYTHONPATH=tools python -m bench.bench
# --render-only` redraws it without measuring again.
#
# Init is also measured against BENCH_BASELINE, an earlier revision whose four
# functions are built once from `git archive` and copied out before today's are
# built, since both land in one release folder. And init's CPU is profiled with perf on today's code built
# without strip, in a target directory of its own (a full release build the
# first time).
BENCH_BASELINE ?= eed5cbf
BASELINE_TREE := $(HOME)/.cache/frontdoor/baseline-$(BENCH_BASELINE)
SYMBOLS_TARGET_DIR := $(HOME)/.cache/frontdoor/target-symbols
FUNCTIONS := eni-targets target-sync prefix-list-ingress health-probe
bench: venv
	set -euo pipefail; if [ ! -x $(BASELINE_TREE)/bin/health-probe ]; then \
	  rm -rf $(BASELINE_TREE) && mkdir -p $(BASELINE_TREE)/src $(BASELINE_TREE)/bin; \
	  git archive $(BENCH_BASELINE) | tar -x -C $(BASELINE_TREE)/src; \
	  (cd $(BASELINE_TREE)/src && cargo build --release $(FUNCTION_PACKAGES)); \
	  cp $(addprefix $(CARGO_TARGET_DIR)/release/,$(FUNCTIONS)) $(BASELINE_TREE)/bin/; fi
	cargo build --release $(FUNCTION_PACKAGES)
	cargo build --release -p frontdoor-tests --bin zone-dns
	CARGO_PROFILE_RELEASE_STRIP=false CARGO_TARGET_DIR=$(SYMBOLS_TARGET_DIR) cargo build --release $(FUNCTION_PACKAGES)
	cargo lambda build --release --arm64 $(FUNCTION_PACKAGES)
	$(if $(BENCH_PROFILES),PYTHONPATH=$(CURDIR)/tools $(VENV)/bin/python -m bench.profile_variants)
	PYTHONPATH=$(CURDIR)/tools $(VENV)/bin/python -m bench.bench \
	  --baseline-bin $(BASELINE_TREE)/bin --baseline-rev $(BENCH_BASELINE) --symbols-bin $(SYMBOLS_TARGET_DIR)/release

# Fuzzing, not run by CI: cargo-fuzz (pinned; libFuzzer) runs each target for
# FUZZ_SECONDS on a corpus seeded from events/ and tests/hostile/. libFuzzer's
# instrumentation needs nightly's -Z flags: `cargo +nightly` where rustup has a
# nightly, else stable with RUSTC_BOOTSTRAP=1 (no toolchain download). A crash
# lands in fuzz/artifacts/<target>/ and is copied to tests/hostile/fuzz/,
# which tests/hostile_input.rs replays in every `make test`; the rule then fails.
# Its sanitizer build has a target directory of its own, so that it never holds
# the lock of the shared one.
FUZZ_SECONDS ?= 60
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_TARGETS := custom_resource_request target_sync_input
fuzz:
	cargo fuzz --version 2>/dev/null | grep -qx 'cargo-fuzz $(CARGO_FUZZ_VERSION)' \
	  || cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked
	set -euo pipefail; export CARGO_TARGET_DIR=$(HOME)/.cache/frontdoor/fuzz-target; \
	if rustup run nightly rustc --version >/dev/null 2>&1; then fuzz="cargo +nightly fuzz"; \
	else fuzz="env RUSTC_BOOTSTRAP=1 cargo fuzz"; fi; \
	mkdir -p tests/hostile/fuzz; found=0; \
	for target in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$target fuzz/artifacts/$$target; \
	  find events tests/hostile -name '*.json' -size -64k -exec cp -n {} fuzz/corpus/$$target/ \; ; \
	  $$fuzz run --fuzz-dir fuzz $$target fuzz/corpus/$$target -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -artifact_prefix=fuzz/artifacts/$$target/ || true; \
	  for crash in fuzz/artifacts/$$target/*; do \
	    [ -f "$$crash" ] || continue; found=1; \
	    cp "$$crash" "tests/hostile/fuzz/$$target-$$(basename $$crash)"; \
	    echo "finding: $$crash -> tests/hostile/fuzz/"; \
	  done; \
	done; \
	[ $$found -eq 0 ] || { echo "fuzz findings copied to tests/hostile/fuzz/: fix them, commit them"; exit 1; }
