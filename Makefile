# Two commands: `make run` sets up and runs the tool; `make test` sets up and runs the tests.
# `make test DATABASE_URL=mysql+pymysql://root@127.0.0.1/likeness_test` runs them on MariaDB
# (a throwaway database per run is created next to the one named, and dropped afterwards).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test setup setup-dev browser lint migrate standin clean

run: setup
	$(PY) -m likeness.dev

test: setup-dev browser
	@LIKENESS_TEST_DATABASE_URL="$(DATABASE_URL)" $(PY) -m pytest $(PYTEST_ARGS); \
	rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests selected"; rc=0; fi; exit $$rc

lint: setup-dev
	$(VENV)/bin/ruff check .

migrate: setup
	$(PY) -m likeness.db.migrate upgrade

# Try it without Wikimedia: the local stand-in on a catalog built from a folder of photos,
# with the tool (web + worker) pointed at it.
standin: setup
	$(PY) -m standin --faces $(or $(FACES),../shared/faces) --run-tool

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt toolforge/dlib-shim/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Browser tests drive Debian's Chromium; never let Playwright download a browser of its own.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium"; fi; }

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
