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
# expected outcome: the sample files hold deliberately broken rows, to show the report. They are 13 %
# and 19 % of these small files, over the default error budget (10 %): --max-rejects 25% lets them in.
demo: $(STAMP)
	@$(BIN)/ecdp-import customers sample_data/customers.csv --sandbox --no-progress --max-rejects 25% --output full; c1=$$?; echo; \
	  $(BIN)/ecdp-import orders sample_data/orders.csv --sandbox --no-progress --max-rejects 25% --output full; c2=$$?; echo; \
	  if [ $$c1 -gt 1 ] || [ $$c2 -gt 1 ]; then exit 1; fi; \
	  echo "(exit codes $$c1 and $$c2: the sample files hold deliberately broken rows; see each report.html)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) reports .ecdp-import .pytest_cache
