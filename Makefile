# Meerpunt Gateway — the two commands of the README, and a few more for developers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEV_DIR ?= .dev
HOST ?= 127.0.0.1
PORT ?= 8443
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: run test lint typecheck test-sqlite test-postgres bench chaos fuzz install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

# The browser tests' tools from the npm registry: a real OpenID provider and axe-core.
tests/node/node_modules/.installed: tests/node/package.json tests/node/package-lock.json
	npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
	touch $@

# Spectral, the linter the NL API Design Rules' ruleset is written for (tests/spectral/adr.yaml).
tests/spectral/node_modules/.installed: tests/spectral/package.json tests/spectral/package-lock.json
	npm ci --prefix tests/spectral --no-audit --no-fund --loglevel=error
	touch $@

NODE_TOOLS := tests/node/node_modules/.installed tests/spectral/node_modules/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev $(NODE_TOOLS)

## make run: set up, create the development environment in ./.dev if needed, serve on https://127.0.0.1:8443
run: $(VENV)/.installed
	$(BIN)/meerpunt-gateway init --dir $(DEV_DIR)
	$(BIN)/meerpunt-gateway serve --config $(DEV_DIR)/gateway.toml --host $(HOST) --port $(PORT)

## make test: lint, type check, and the whole suite on SQLite and on PostgreSQL
test: lint typecheck test-sqlite test-postgres

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

test-sqlite: $(VENV)/.installed-dev $(NODE_TOOLS)
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed-dev $(NODE_TOOLS)
	MEERPUNT_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest $(PYTEST_ARGS)

## make fuzz: schemathesis with many more examples against a real serve (partner, officer, citizen)
FUZZ_EXAMPLES ?= 100
fuzz: $(VENV)/.installed-dev
	MEERPUNT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/contract/test_schemathesis.py -p no:cacheprovider -s

## make bench: the benchmarks (PostgreSQL), printing tables and writing bench/results/*.json
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run

## make chaos: the fault scenarios against real processes (two instances behind HAProxy on
## PostgreSQL, a throw-away PostgreSQL cluster for the restart), printing the table of issue 13
CHAOS_ARGS ?=
chaos: $(VENV)/.installed-dev
	$(BIN)/python -m bench.chaos --database-url $(PG_TEST_URL) $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
