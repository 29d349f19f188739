# The few commands people type. Everything runs from a virtual environment in .venv,
# installed from the committed lock files (requirements*.txt), so every machine runs the
# versions that were tested.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: install install-dev env run migrate test lint format lock clean bench bench-growth \
	multi-check chromium e2e fuzz client client-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(RUNTIME_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(DEV_STAMP): requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

## env: write a .env with a freshly generated SECRET_KEY unless one is there already
## (on a line of its own: a .env that does not end with a newline gets one first)
env:
	@grep -qs '^SECRET_KEY=' .env || { \
		if [ -s .env ] && [ -n "$$(tail -c 1 .env)" ]; then echo >> .env; fi; \
		echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))')" >> .env; \
		echo "wrote a new SECRET_KEY to .env"; }

## run: install, migrate and serve on http://127.0.0.1:8000
run: install env
	$(BIN)/python -m app serve

migrate: install env
	$(BIN)/python -m app migrate

## test: install and run the whole suite (PostgreSQL too when TEST_DATABASE_URL is set),
## the browser test in tests/e2e/ included
test: install-dev chromium
	$(BIN)/python -m pytest

## chromium: the browser test drives Debian's Chromium (Playwright cannot download one here);
## installed with apt-get when missing and run as root, else a one-line hint (the test fails)
CHROMIUM := /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Chromium for the browser test (apt-get install chromium)"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "Chromium is missing: run 'sudo apt-get install -y chromium', or the browser test fails"; \
		fi; }

## e2e: only the browser test (Swagger UI's Authorize flow in Chromium against a live server)
e2e: install-dev chromium
	$(BIN)/python -m pytest tests/e2e

## fuzz: a long schemathesis session against a live server (FUZZ_SECONDS per account, no
## fixed seed); CI runs `python -m tests.fuzz.run` with its fixed budget instead
FUZZ_SECONDS ?= 300
fuzz: install-dev
	$(BIN)/python -m tests.fuzz.run --max-time $(FUZZ_SECONDS) $(FUZZ_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict app clients/dump_openapi.py tests/test_generated_client.py

## bench: seed a database, serve the app and a baseline, drive both with wrk, print the table
## (SQLite; PostgreSQL with BENCH_ARGS=--postgres; results in bench/results/)
bench: install-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

## bench-growth: each read path at 500 orders, then grown in SQL to a million (SQLite;
## PostgreSQL with BENCH_ARGS=--postgres); a few minutes per database
bench-growth: install-dev
	$(BIN)/python -m bench.growth $(BENCH_ARGS)

## multi-check: two instances on one PostgreSQL behind nginx share every piece of state
multi-check: install-dev
	bench/multi_instance_check.sh

## client: regenerate clients/ from the app's OpenAPI schema (no server needed): the schema
## itself (openapi.json), the typed async Python client (python/, openapi-python-client) and
## the TypeScript types (typescript/schema.d.ts, openapi-typescript). CLIENTS_OUT writes
## them to another directory (see client-check).
CLIENTS_OUT ?= clients
OPENAPI_TYPESCRIPT := clients/typescript/node_modules/.bin/openapi-typescript
client: install-dev $(OPENAPI_TYPESCRIPT)
	mkdir -p $(CLIENTS_OUT)/typescript
	$(BIN)/python clients/dump_openapi.py $(CLIENTS_OUT)/openapi.json
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/openapi-python-client generate --overwrite \
		--path $(CLIENTS_OUT)/openapi.json --output-path $(CLIENTS_OUT)/python \
		--meta pdm --config clients/python-client.yaml
	rm -rf $(CLIENTS_OUT)/python/.ruff_cache
	$(OPENAPI_TYPESCRIPT) $(CLIENTS_OUT)/openapi.json --output $(CLIENTS_OUT)/typescript/schema.d.ts

# openapi-typescript at the version of clients/typescript/package-lock.json
$(OPENAPI_TYPESCRIPT): clients/typescript/package.json clients/typescript/package-lock.json
	cd clients/typescript && npm ci --no-audit --no-fund --silent
	touch $@

## client-check: fail when the committed clients/ are not what `make client` makes now
client-check:
	clients/check

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## lock: re-resolve the lock files after a change to pyproject.toml (needs uv)
lock:
	uv pip compile -q pyproject.toml --python-version 3.11 -o requirements.txt
	uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements-dev.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
