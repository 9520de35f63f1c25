# The two commands of the README: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Each import starts the built-in sandbox (--sandbox) and imports into it. Exit code 1 is the
# expected outcome: the sample files hold deliberately broken rows, to show the report.
demo: $(STAMP)
	@$(BIN)/ecdp-import customers sample_data/customers.csv --sandbox --no-progress; c1=$$?; echo; \
	  $(BIN)/ecdp-import orders sample_data/orders.csv --sandbox --no-progress; c2=$$?; echo; \
	  if [ $$c1 -gt 1 ] || [ $$c2 -gt 1 ]; then exit 1; fi; \
	  echo "(exit codes $$c1 and $$c2: the sample files hold deliberately broken rows; see each rejected.csv)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

# 1M order lines and 1M customers by default; `make bench BENCH_ARGS=--10m` adds the 10M-line run.
bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) reports .ecdp-import .pytest_cache
