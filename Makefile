# Two commands for a newcomer: `make demo` and `make test`. Both bootstrap .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.bootstrapped
CONSTRAINTS ?= constraints.txt
# The development environment has everything; the lowest-Airflow one only what the suite needs.
EXTRAS ?= dev,realtime,docs,ui-tests

.DEFAULT_GOAL := help
.PHONY: help bootstrap demo airflow emulator test lint typecheck pytest test-airflow-lowest test-ui docs constraints clean

help:
	@echo "make demo     - run the example reminder campaign against a local TWIN emulator, print its report"
	@echo "make test     - lint, type-check and run the whole test suite"
	@echo "make airflow  - airflow standalone (web UI, port 8080) with the example DAGs and the emulator"
	@echo "make emulator - run the TWIN emulator in the foreground"
	@echo "make docs     - build the docs site into docs/_build/html (warnings are errors)"
	@echo "make test-ui  - the Airflow UI in headless Chromium (needs the chromium OS package)"

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c $(CONSTRAINTS) pip setuptools wheel
	$(BIN)/python -m pip install -q --disable-pip-version-check -c $(CONSTRAINTS) -e ".[$(EXTRAS)]"
	touch $(STAMP)

bootstrap: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The web UI: Airflow (in .demo/airflow-home) with the example DAGs and twin_default (stored in its
# database) pointing at the emulator; held messages are fast-forwarded. Ctrl+C stops it cleanly
# (no make error; make itself then ends with the interrupt's status).
airflow: $(STAMP)
	$(BIN)/python scripts/demo.py airflow

emulator: $(STAMP)
	$(BIN)/twin-emulator --port 8765

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite runs in one pytest-xdist worker per core (`make test PYTEST_WORKERS=1` for one), each
# with its own Airflow home, database and emulator (tests/conftest.py); work stealing keeps every
# worker busy to the end, although a single DAG-run test can take a minute.
# pytest exits 5 when it collected no test: that must fail, not pass silently.
PYTEST_WORKERS ?= auto
pytest: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal --ignore=tests/ui; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test: lint typecheck pytest

# The docs site: Sphinx renders docs/*.md (MyST), the API reference from the docstrings and the
# example DAGs' code from the files themselves. Any warning fails the build.
docs: $(STAMP)
	rm -rf docs/_build
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

# The Airflow UI (api-server, scheduler, triggerer, dag processor) with the example DAGs and the
# emulator, driven in headless Chromium. Not part of `make pytest`: it needs the browser.
# Screenshots of each step are kept in $(UI_ARTIFACTS).
UI_ARTIFACTS ?= .artifacts/ui
test-ui: $(STAMP)
	TWIN_UI_ARTIFACTS=$(UI_ARTIFACTS) $(BIN)/python -m pytest tests/ui -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no UI tests" >&2; exit 1; fi; exit $$rc

# The lowest supported Airflow, in its own environment (CI runs it after `make test`).
LOWEST_VENV := .venv-airflow-lowest
test-airflow-lowest:
	$(MAKE) VENV=$(LOWEST_VENV) CONSTRAINTS=constraints-airflow-lowest.txt EXTRAS=dev,realtime pytest

# Re-pin after changing dependencies: writes constraints.txt from the current .venv.
constraints: $(STAMP)
	$(BIN)/python -m pip freeze --all --exclude-editable | grep -v '^airflow-provider-twin' > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) $(LOWEST_VENV) .demo build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
