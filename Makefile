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

.PHONY: venv test test-rust test-template lint build-arm64 demo bench fuzz clean

venv: $(VENV)/.installed $(CHECKOV_VENV)/.installed
$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# The Rust suite runs against a moto_server that scripts/with-moto starts and stops.
test-rust: venv
	scripts/with-moto cargo test --workspace --all-targets

test-template: venv
	scripts/check-template

test: lint test-rust test-template

build-arm64: venv
	cargo lambda build --release --arm64

clean:
	cargo clean
