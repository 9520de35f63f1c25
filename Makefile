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

# Exit code 1 is the expected outcome: the sample data holds 3 deliberately broken rows.
demo: $(STAMP)
	@$(BIN)/ecdp-import customers sample_data/customers.csv --sandbox --no-progress; code=$$?; \
	  if [ $$code -gt 1 ]; then exit $$code; fi; \
	  echo "(exit code $$code: sample_data/customers.csv has 3 deliberately broken rows; see rejected.csv)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) reports .ecdp-import .pytest_cache
