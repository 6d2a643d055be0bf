# The two commands a newcomer types: `make readme` and `make test`.
# Both set themselves up on first use: `make readme` installs surveybib and only what it
# needs to run; `make test` adds the test and development tools.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
DEV := $(VENV)/.dev
WHEELS := .ci/wheels
# Extra pytest arguments, e.g. PYTEST_ARGS='-m "not corpora"' where no corpus folder exists.
PYTEST_ARGS ?=

.PHONY: readme site site-shot test check lint bench clean

$(RUNTIME): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

$(DEV): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(DEV)

readme: $(RUNTIME)
	$(BIN)/surveybib build

# the paper explorer (build writes it too: `site` is set in pyproject.toml)
site: $(RUNTIME)
	$(BIN)/surveybib site

# screenshots of the explorer for the repository's survey, to look at
site-shot: $(DEV)
	$(BIN)/surveybib site -o build/site
	$(BIN)/python tests/site_shot.py build/site build/site-shot.png

check: $(RUNTIME)
	$(BIN)/surveybib check

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy --strict src

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts

# surveybib's runtime dependencies as wheels: the packaging test installs the built wheel
# into a fresh venv from here, without the network.
$(WHEELS)/.complete: pyproject.toml $(DEV)
	$(BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > $(VENV)/runtime-requirements.txt
	$(BIN)/python -m pip wheel --quiet --wheel-dir $(WHEELS) -r $(VENV)/runtime-requirements.txt
	touch $@

test: lint node_modules/.package-lock.json $(WHEELS)/.complete
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(DEV)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(WHEELS) build dist src/*.egg-info
