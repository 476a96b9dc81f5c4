# ggzy: `make run` serves the platform, `make test` runs the suite on SQLite and PostgreSQL.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_STAMP := web/node_modules/.installed
OCDS_SCHEMA := $(VENV)/share/ocds/release-schema-1__1__4.json
# Prefer python3.11 when the machine has it under that name, unless PYTHON was set by hand.
BOOTSTRAP := $(if $(filter python3,$(PYTHON)),$(or $(shell command -v python3.11 2>/dev/null),$(PYTHON)),$(PYTHON))
TEST_WORKERS ?= 2
TEST_BACKENDS ?= sqlite postgresql
PYTEST_ARGS ?=

.PHONY: venv run test lint bench clean distclean browser up bench-load

venv: $(STAMP) $(WEB_STAMP) $(OCDS_SCHEMA)

$(BIN)/python:
	$(BOOTSTRAP) -m venv $(VENV)

# Reinstalls only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e '.[dev]'
	touch $(STAMP)

# The web pages' npm packages (bpmn-js), served from web/node_modules; reinstalled when the lock changes.
$(WEB_STAMP): web/package.json $(wildcard web/package-lock.json)
	cd web && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
	touch $(WEB_STAMP)

# The official OCDS 1.1.4 release schema for the tests: no installed package ships it, the ocdsmerge sdist on
# PyPI carries it among its test fixtures.
$(OCDS_SCHEMA): | $(BIN)/python
	mkdir -p $(@D)/download
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
		ocdsmerge==0.8.0 -d $(@D)/download
	tar -xzf $(@D)/download/ocdsmerge-0.8.0.tar.gz -O ocdsmerge-0.8.0/tests/fixtures/release-schema-1__1__4.json > $@.tmp
	mv $@.tmp $@

# Debian's Chromium (and CJK fonts for readable screenshots) for the browser tests in tests/web.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q . || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends chromium fonts-noto-cjk; \
		else echo "chromium missing: run as root or apt-get install chromium fonts-noto-cjk"; fi; }

run: venv
	$(BIN)/ggzy init
	$(BIN)/ggzy serve

# The whole suite once per backend; both run even when the first fails.
test: venv browser
	@status=0; for db in $(TEST_BACKENDS); do \
		echo "== tests on $$db"; \
		GGZY_TEST_DATABASE=$$db $(BIN)/pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS) || status=1; \
	done; exit $$status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy --explicit-package-bases api services engine domain persistence workers ggzy trading web

bench: venv
	$(BIN)/python bench/engine.py

# Production mode on one machine: gunicorn + Celery workers + beat until Ctrl-C (needs GGZY_DATABASE_URL
# on PostgreSQL and GGZY_REDIS_URL). UP_ARGS e.g. --api-workers 4 --celery-workers 2.
up: venv
	$(BIN)/ggzy up $(UP_ARGS)

# Load scenarios on PostgreSQL + Redis (sizes via GGZY_BENCH_* variables, see bench/load.py), then the
# expert draw from 100,000 experts; each writes its section of docs/PERFORMANCE.md.
bench-load: venv
	$(BIN)/python bench/load.py
	$(BIN)/python bench/expert_draw.py --db postgresql --experts $${GGZY_BENCH_EXPERTS:-100000} --write

clean:
	rm -rf build *.egg-info .pytest_cache .ruff_cache .mypy_cache test-artifacts $(STAMP)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

# Also the virtual environment and the local database under var/.
distclean: clean
	rm -rf $(VENV) var
