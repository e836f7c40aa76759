# Two commands on a fresh machine: `make demo` and `make test`. Everything else is installed here.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-installed
CXHUB_HOME ?= cxhub-data
DEMO_DIR ?= demo-data
export CXHUB_HOME

.PHONY: demo test check install system bench lint typecheck clean constraints

install: $(STAMP) $(SYSTEM_STAMP)

# constraints.txt pins the versions the suite last passed with, so a new release upstream
# cannot break a fresh checkout; refresh it with `make constraints` after an upgrade.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[spark,test,embeddings]'
	touch $(STAMP)

# Debian packages: Java for the Spark engine, chromium for browser tests, wrk for benchmarks.
$(SYSTEM_STAMP):
	@missing=""; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mkdir -p $(VENV) && touch $(SYSTEM_STAMP)

demo: install
	$(PY) -m cxhub demo --data $(DEMO_DIR)

test: install
	$(PY) -m pytest -q -p no:cacheprovider

# The quick loop before a commit: lint, types and the tests not marked slow (no browser, Spark,
# real data or simulated companies; see the `slow` marker in pyproject.toml). CI runs `make test`.
# Two workers, a test file each at a time (module fixtures are made once): every test has its
# own temporary folder and warehouse file, and servers take free ports.
check: lint typecheck
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow" -n 2 --dist loadfile

bench: install
	$(PY) bench/run_all.py

constraints: install
	$(PY) -m pip freeze --exclude-editable | sed 's/+cpu//' > constraints.txt

lint: install
	$(PY) -m ruff check src tests bench

typecheck: install
	$(PY) -m mypy src

clean:
	rm -rf $(VENV) cxhub-data demo-data .pytest_cache
