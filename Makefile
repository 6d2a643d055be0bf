# The two commands a newcomer types: `make readme` and `make test`.
# Both set themselves up on first use (a .venv with the project installed).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra pytest arguments, e.g. PYTEST_ARGS='-m "not corpora"' where no corpus folder exists.
PYTEST_ARGS ?=

.PHONY: readme test check lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

readme: $(STAMP)
	$(BIN)/surveybib build

check: $(STAMP)
	$(BIN)/surveybib check

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy --strict src

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts

test: lint node_modules/.package-lock.json
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
