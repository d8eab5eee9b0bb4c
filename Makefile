# The one gate: lint, types, tests. `make check` is what CI (.ci/run) runs.
PY ?= .venv/bin/python
export PATH := $(CURDIR)/.venv/bin:$(PATH)
# Debian 12's Python 3.11.2 can raise "AST constructor recursion depth mismatch" when two
# threads format tracebacks at once (CPython gh-106905, fixed in 3.11.5): the caret hints
# call ast.parse. Without column ranges, traceback formatting never parses.
export PYTHONNODEBUGRANGES := 1

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
