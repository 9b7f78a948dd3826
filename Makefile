# Two commands: `make run` sets up and runs the tool; `make test` sets up and runs the tests.
# `make test DATABASE_URL=mysql+pymysql://root@127.0.0.1/likeness_test` runs them on MariaDB
# (a throwaway database per run is created next to the one named, and dropped afterwards).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
DLIB_SHIM := toolforge/dlib-20.0.1-py3-none-any.whl
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

.PHONY: run test setup setup-dev browser lint lock migrate standin clean

run: setup
	$(PY) -m likeness.dev

test: setup-dev browser
	@LIKENESS_TEST_DATABASE_URL="$(DATABASE_URL)" $(PY) -m pytest $(PYTEST_ARGS); \
	rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests selected"; rc=0; fi; exit $$rc

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

migrate: setup
	$(PY) -m likeness.db.migrate upgrade

# Try it without Wikimedia: the local stand-in on a catalog built from a folder of photos,
# with the tool (web + worker) pointed at it.
standin: setup
	$(PY) -m standin --faces $(or $(FACES),../shared/faces) --run-tool

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

# Installs exactly the lock: every distribution pinned with its hashes (pip checks them), and
# removes what an earlier lock installed and this one no longer pins.
$(VENV)/.installed: requirements.txt $(DLIB_SHIM)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(call install_lock,requirements.txt)

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(call install_lock,requirements-dev.txt)

define install_lock
	$(PY) -m pip install --quiet -r $(1)
	unpinned="$$($(PY) tests/lockcheck.py --unpinned $(1))"; \
	  [ -z "$$unpinned" ] || $(PY) -m pip uninstall --quiet --yes $$unpinned
	touch $@
endef

# Regenerate the lock after editing requirements*.in; `make lock UPGRADE=1` also moves every
# pin to its newest release. The shim wheel is rebuilt byte for byte (fixed build date).
lock: setup-dev
	SOURCE_DATE_EPOCH=1767225600 $(PY) -m pip wheel --quiet --no-deps -w toolforge toolforge/dlib-shim
	$(UV_COMPILE) requirements.in -o requirements.txt
	@# The dev lock keeps every production pin (the shim's path line cannot be a constraint).
	sed -n '/^[a-z]/s/ \\$$//p' requirements.txt > $(VENV)/lock-constraints.txt
	$(UV_COMPILE) requirements-dev.in -c $(VENV)/lock-constraints.txt -o requirements-dev.txt

# Browser tests drive Debian's Chromium; never let Playwright download a browser of its own.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium"; fi; }

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
