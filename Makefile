# Everything starts from a fresh clone with only Python 3.11+: `make` builds the venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: all install pgbouncer browser run test lint bench chaos clean

all: install

install: $(STAMP) pgbouncer browser

# PgBouncer, for the test that runs services behind it in transaction mode: Debian's package,
# installed when missing and when we may (root, apt-get); otherwise say how.
pgbouncer:
	@if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing pgbouncer (apt-get)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null 2>&1 && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; }; \
	  else \
	    echo "pgbouncer is missing: install it (Debian/Ubuntu: sudo apt-get install pgbouncer)"; \
	  fi; \
	fi

# Chromium and its driver, for the dashboard's browser test (tests/services/intake/dashboard):
# Debian's packages, installed when missing and when we may; the test fails without them.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and chromium-driver (apt-get)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null 2>&1 && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }; \
	  else \
	    echo "chromium is missing: install it (Debian/Ubuntu: sudo apt-get install chromium chromium-driver)"; \
	  fi; \
	fi

# The server, then the client distribution (clients/python: the `clearway` command) beside it,
# in that order: a venv whose server still declared the command removes it when the server is
# reinstalled, and the client's install then puts its own back.
$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet -e 'clients/python[kafka]'
	touch $(STAMP)

run: $(STAMP)
	exec $(PY) -m services.stack run

# The whole-stack tests in one pytest process (one stack for all), the others beside it at the
# same time (tests/run_in_two.py says why); `$(PY) -m pytest` runs everything in one.
test: $(STAMP) browser
	$(PY) -m tests.run_in_two $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check libs services tests examples clients
	$(VENV)/bin/ruff format --check libs services tests examples clients
	$(VENV)/bin/mypy

chaos: $(STAMP)
	CHAOS_INVOICES=$${CHAOS_INVOICES:-60} CHAOS_OUTAGE_SECONDS=$${CHAOS_OUTAGE_SECONDS:-60} \
	CHAOS_DELIVERIES=$${CHAOS_DELIVERIES:-20} \
	CHAOS_EVERY_SERVICE=1 CHAOS_REPORT_DIR=bench-results $(PY) -m pytest -m chaos tests/chaos $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m services.stack bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .state bench-results
