# Two commands are the whole set-up: `make run` serves the console, `make test` runs the suite.
# `make lint` runs the linters, the type checker, the import contracts and the migrations check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
PYTEST_ARGS ?=
LOAD_ARGS ?=

.PHONY: run setup chromium lint test test-services compose-check load ci clean

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_demo_data
	@echo "Console: http://127.0.0.1:8000  (Ctrl-C stops the web server and the worker)"
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" DEBUG=$${DEBUG:-true} $(VENV)/bin/honcho start -f Procfile

setup: $(STAMP) node_modules/.package-lock.json

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Debian's Chromium drives the browser tests (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Style, types, the layers between apps (import contracts in pyproject.toml), and no model
# change without its migration. Each step runs even when one before it failed.
lint: setup
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	$(VENV)/bin/mypy rules_engine pipelines_admin || status=1; \
	$(VENV)/bin/lint-imports || status=1; \
	$(PY) manage.py makemigrations --check --dry-run || status=1; \
	exit $$status

test: setup chromium
	$(PY) -m pytest $(PYTEST_ARGS)

# The same suite against PostgreSQL and Redis, started from Debian's packages on loopback ports.
test-services: setup chromium
	scripts/with-services $(PY) -m pytest $(PYTEST_ARGS)

compose-check: setup
	scripts/compose-config-check

# The load test (bench/load): 10, 50 and 100 concurrent users for a minute each against
# gunicorn and a Celery worker on PostgreSQL and Redis, all on loopback; prints the figures.
load: setup
	scripts/with-services $(PY) bench/load/run_load.py $(LOAD_ARGS)

ci: lint test test-services compose-check

clean:
	rm -rf $(VENV) node_modules var .docker
