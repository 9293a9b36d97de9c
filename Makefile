# Two commands matter:  `make demo` (the local lab, end to end) and `make test` (the whole suite, as CI runs it).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install services lint typecheck unit docs wheel-check bench clean

demo: $(STAMP)
	$(BIN)/cloudml-edu demo

test: install lint typecheck unit docs wheel-check

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
	$(BIN)/ruff check src tests benchmarks examples tools
	$(BIN)/ruff format --check src tests benchmarks examples tools

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup

# The documentation site, strictly (a warning fails); the lab notebook is executed when stale.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Build sdist + wheel, check them, install the wheel into a fresh venv outside the source tree,
# and run `cloudml-edu demo` and examples/quickstart.py from it.
wheel-check: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist . >/dev/null
	$(BIN)/twine check --strict dist/*
	$(BIN)/python tools/wheel_check.py dist/*.whl

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .ci/azurite/node_modules .cloudml data/digits .mypy_cache .ruff_cache .pytest_cache site build dist
