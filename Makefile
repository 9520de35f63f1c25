# The two commands of the README: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow check bench bench-bombs clean system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Each import starts the built-in sandbox (--sandbox) and imports into it. Exit code 1 is the
# expected outcome: the sample files hold deliberately broken rows, to show the report. They are 13 %
# and 19 % of these small files, over the default error budget (10 %): --max-rejects 25% lets them in.
demo: $(STAMP)
	@$(BIN)/ecdp-import customers sample_data/customers.csv --sandbox --no-progress --max-rejects 25% --output full; c1=$$?; echo; \
	  $(BIN)/ecdp-import orders sample_data/orders.csv --sandbox --no-progress --max-rejects 25% --output full; c2=$$?; echo; \
	  if [ $$c1 -gt 1 ] || [ $$c2 -gt 1 ]; then exit 1; fi; \
	  echo "(exit codes $$c1 and $$c2: the sample files hold deliberately broken rows; see each report.html)"

# The checks that keep the house in order: lint (ruff), types (mypy --strict on importer/ and schemas/)
# and the import-layer contracts (import-linter, in pyproject.toml: layers one way, no circles).
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The real parts the suite starts need Debian's packages: chromium (the report test renders report.html in it),
# postgresql and mariadb-server (the SQL sources' tests start a server of each per worker, mysql:// through
# ConnectorX). They are installed here when missing, in one apt-get (root or sudo); where they cannot be, those
# tests are skipped and say why. The suite runs on two workers (pytest-xdist): every session fixture (the
# sandbox, the S3 server, PostgreSQL, MariaDB) is per worker,
# every test has its own state file and folders.
# `make test` leaves out the tests marked slow (a 100k-order soak through faults and a kill -9, 100k custom
# events killed and resumed, 100k lines from S3 and from PostgreSQL, a week of nightly runs): `make test-slow`
# runs them, and CI (.ci/run) runs both.
test: check system-packages
	$(BIN)/python -m pytest -q -n 2 -m "not slow"  # two workers (pytest-xdist), one per core

test-slow: $(STAMP) system-packages
	$(BIN)/python -m pytest -q -n 2 -m slow

system-packages:
	@missing=""; [ -x /usr/bin/chromium ] || missing="chromium"; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  [ -x /usr/sbin/mariadbd ] || missing="$$missing mariadb-server"; \
	  if [ -n "$$missing" ] && command -v apt-get >/dev/null; then \
	    sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo -n"; \
	    echo "Installing Debian's$$missing for the tests (apt-get) ..."; \
	    ($$sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null) \
	      || echo "Could not install$$missing: the tests that need it will be skipped."; \
	  fi

# The naive baseline needs pandas and requests; they live in a venv of their own, because pandera
# imports pandas whenever it is installed (0.4 s more per run), which the importer's users do not pay.
NAIVE_VENV := .venv-naive
NAIVE_STAMP := $(NAIVE_VENV)/.installed

$(NAIVE_STAMP): bench/naive-requirements.txt
	$(PYTHON) -m venv $(NAIVE_VENV)
	$(NAIVE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(NAIVE_VENV)/bin/python -m pip install --quiet -r bench/naive-requirements.txt
	touch $(NAIVE_STAMP)

# The importer the bench measures is installed as a user installs it (`pip install .`, no test extras, its
# bytecode written by pip), in a venv of its own, again whenever the package's files change.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_VENV)/bin/python:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip

$(BENCH_STAMP): pyproject.toml $(shell find importer schemas -type f -not -path '*/__pycache__/*') | $(BENCH_VENV)/bin/python
	$(BENCH_VENV)/bin/python -m pip install --quiet '.[postgres]' && rm -rf build  # (setuptools builds in ./build)
	touch $(BENCH_STAMP)

# 1M order lines and 1M customers by default; `make bench BENCH_ARGS=--10m` adds the 10M-line run. Then the
# full-size hostile files of SECURITY.md (2 GiB bombs: each must stop in 30 s under 600 MB; `make bench-bombs`).
bench: $(STAMP) $(NAIVE_STAMP) $(BENCH_STAMP)
	ECDP_BENCH_NAIVE_PYTHON=$(NAIVE_VENV)/bin/python ECDP_BENCH_VENV=$(BENCH_VENV) $(BIN)/python bench/run.py $(BENCH_ARGS)
	$(MAKE) --no-print-directory bench-bombs

bench-bombs: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python -m bench.bombs

clean:
	rm -rf $(VENV) $(NAIVE_VENV) $(BENCH_VENV) reports .ecdp-import .pytest_cache
