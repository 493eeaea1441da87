# drawdown: `make run` serves on SQLite at http://127.0.0.1:8000; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench bench-pg clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "drawdown needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# openapi-python-client (tests/test_generated_client.py) pins an older typer than the CLI's,
# so it gets a virtualenv of its own.
CLIENT_TOOLS := $(VENV)/openapi-client-tools
$(CLIENT_TOOLS)/.installed: $(STAMP)
	$(PYTHON) -m venv $(CLIENT_TOOLS)
	$(CLIENT_TOOLS)/bin/pip install --quiet openapi-python-client==0.29.1
	@touch $@

run: $(STAMP)
	$(BIN)/drawdown serve

test: $(STAMP) $(CLIENT_TOOLS)/.installed
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Figures and ratios to the storage floor (bench/RESULTS.md); PostgreSQL from
# DRAWDOWN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test).
$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	@touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench sqlite

bench-pg: $(VENV)/.bench-installed
	$(BIN)/python -m bench postgresql

clean:
	rm -rf $(VENV) drawdown.db drawdown.db-wal drawdown.db-shm
