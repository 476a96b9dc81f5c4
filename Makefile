# ggzy: `make run` serves the platform, `make test` runs the suite on SQLite and PostgreSQL.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Prefer python3.11 when the machine has it under that name, unless PYTHON was set by hand.
BOOTSTRAP := $(if $(filter python3,$(PYTHON)),$(or $(shell command -v python3.11 2>/dev/null),$(PYTHON)),$(PYTHON))
TEST_WORKERS ?= 2
TEST_BACKENDS ?= sqlite postgresql
PYTEST_ARGS ?=

.PHONY: venv run test lint bench clean distclean

venv: $(STAMP)

$(BIN)/python:
	$(BOOTSTRAP) -m venv $(VENV)

# Reinstalls only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e '.[dev]'
	touch $(STAMP)

run: venv
	$(BIN)/ggzy init
	$(BIN)/ggzy serve

# The whole suite once per backend; both run even when the first fails.
test: venv
	@status=0; for db in $(TEST_BACKENDS); do \
		echo "== tests on $$db"; \
		GGZY_TEST_DATABASE=$$db $(BIN)/pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS) || status=1; \
	done; exit $$status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy --explicit-package-bases api services engine domain persistence workers ggzy trading

bench: venv
	$(BIN)/python bench/engine.py

clean:
	rm -rf build *.egg-info .pytest_cache .ruff_cache .mypy_cache test-artifacts $(STAMP)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

# Also the virtual environment and the local database under var/.
distclean: clean
	rm -rf $(VENV) var
