# The one gate: lint, types, tests. `make check` is what CI (.ci/run) runs.
PY ?= .venv/bin/python
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: check lint types test bench
check: lint types test

lint:
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench

types:
	$(PY) -m mypy

test:
	$(PY) -m pytest -q -p no:cacheprovider

bench:
	$(PY) -m bench
