# Quick start: `make demo` opens the TUI on the sample organisation; `make test` runs everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Both cores (pytest-xdist); worksteal hands out single tests and lets an idle worker take
# from the other's queue, so neither waits on a long file at the end. `make test PYTEST_ARGS=`
# runs serially. The fifteen slowest tests are listed at the end: the suite must stay under 8 minutes.
PYTEST_ARGS ?= -n 2 --dist worksteal --durations=15

.PHONY: demo test bench bench-small clean

$(BIN)/python:
	$(PYTHON) tools/bootstrap_venv.py $(VENV)

# tools/install.py uses uv (from PyPI, into the venv) and falls back to pip
$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/python tools/install.py $(VENV) .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python tools/install.py $(VENV) '.[test]'
	touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/foureyes demo

test: $(VENV)/.installed-test
	$(BIN)/python tools/ensure_chromium.py
	$(BIN)/python tools/with_postgres.py -- $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Benchmarks at the full default size (20,000 people, ~1M grants) and at 1/50th; the
# results are appended to benchmarks/README.md with the machine they ran on.
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py --scale 1.0

bench-small: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py --scale 0.01
