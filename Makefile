# Two commands matter:  `make demo` (the local lab, end to end) and `make test` (the whole suite, as CI runs it).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install services lint typecheck unit bench clean

demo: $(STAMP)
	$(BIN)/cloudml-edu demo

test: install lint typecheck unit

install: $(STAMP) services

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Azurite (Blob Storage emulator) through npm; Chromium (report rendering test) through apt when root.
services:
	bash .ci/install-services

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .ci/azurite/node_modules .cloudml data/digits .mypy_cache .ruff_cache .pytest_cache
