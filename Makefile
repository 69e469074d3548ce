# Two commands do everything: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-requirements
PORT   ?= 8501

.PHONY: run test bench setup data lint format clean

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

## setup: virtualenv, packages, database schema and demo market data under data/
setup: $(STAMP) data

data:
	mkdir -p data
	$(BIN)/python -m nexus migrate
	$(BIN)/python -m ingest run prices

## run: the ingest scheduler and the app, on http://localhost:$(PORT)
run: setup
	PORT=$(PORT) scripts/run.sh

## test: the whole suite (unit, app, ingest, security, e2e in headless Chromium); no benchmarks
test: setup
	$(BIN)/python -m pytest

## bench: speed ratios, candidate and baseline interleaved (A B A B, best of N); see README
bench: setup
	$(BIN)/python -m pytest tests/bench -m bench -q

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .benchmarks
