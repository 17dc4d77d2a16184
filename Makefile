# prodsim — the two commands a new machine needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint format lock bench bench-full schema services-stop browser-deps

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

## Start everything on the embedded services with the demo shop, serve on :8000.
run: install
	$(BIN)/python manage.py up

## Install and run the whole suite against real PostgreSQL+pgvector and Valkey.
test: install browser-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# The browser test drives Debian's Chromium and its driver; install them where we may (root
# with apt). Elsewhere that one test is skipped, saying why.
browser-deps:
	@command -v chromedriver >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; } \
	  || echo "chromium/chromedriver not installed: the browser test will be skipped"

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Re-pin the full dependency set after changing requirements*.txt.
lock: install
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt

services-stop: install
	$(BIN)/python manage.py services stop

## Benchmarks (slow; not part of the test suite, which runs only a seconds-long smoke run of
## the harness): every benchmark in the quick profile (~25 min on 2 cores, rewrites the *-quick
## sections of docs/BENCHMARKS.md) or the scale profile (hours, 1M vectors, the main sections).
## Benchmarks whose ../shared/data is missing are skipped with a note.
bench: install
	$(BIN)/python bench/run_all.py

bench-full: install
	$(BIN)/python bench/run_all.py --full

## Regenerate the committed OpenAPI schema (a test fails when it drifts from the code).
schema: install
	$(BIN)/python manage.py spectacular --file docs/openapi.yaml --validate
