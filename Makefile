# Mailfort — see README.md. `make serve` and `make test` bootstrap everything they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: serve test lint typecheck bench bench-guard bench-list clean help

help:
	@echo "make serve   - serve IMAP on 127.0.0.1:1993 (TLS) and :1143 (STARTTLS), data in ./data"
	@echo "make test    - run the whole test suite"
	@echo "make lint    - ruff"
	@echo "make typecheck - mypy --strict"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

serve: $(STAMP)
	$(BIN)/mailfort serve

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests

typecheck: $(STAMP)
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-guard: $(STAMP)
	$(BIN)/python bench/guard_figures.py $(BENCH_ARGS)

bench-list: $(STAMP)
	$(BIN)/python bench/list_wildcards.py $(BENCH_ARGS)
