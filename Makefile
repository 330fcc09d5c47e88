# Everything starts from a fresh clone with only Python 3.11+: `make` builds the venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: all install run test lint bench chaos clean

all: install

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	exec $(PY) -m services.stack run

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check libs services tests examples
	$(VENV)/bin/ruff format --check libs services tests examples
	$(VENV)/bin/mypy

chaos: $(STAMP)
	CHAOS_INVOICES=$${CHAOS_INVOICES:-60} CHAOS_OUTAGE_SECONDS=$${CHAOS_OUTAGE_SECONDS:-60} \
	CHAOS_EVERY_SERVICE=1 CHAOS_REPORT_DIR=bench-results $(PY) -m pytest -m chaos tests/chaos $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m services.stack bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .state bench-results
