# RadBot Web. The two commands: `make demo` and `make test`. Both are safe to re-run.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
DEMO_STUDIES ?= 24
DEMO_SEED ?= 2020
DEMO_DATA := var/demo-data

.PHONY: demo test test-assets venv native vendor migrate demo-data serve lint lock bench clean

# The demo, the tests and the benchmarks run in demo mode: built-in keys, a local cache,
# plain-HTTP cookies (see README, Configuration). Without it, settings are production's
# and refuse to start unconfigured. Target-specific, so it also reaches their prerequisites.
demo demo-data test bench: export RADBOT_DEMO = 1

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

venv: $(VENV)/.installed

# The labeller's hot modules compiled with mypyc (labeling/nlp/native.py). Rebuilt when one of
# them changes (a stale build is never used); without a C compiler it says so and the labeller
# runs as plain Python.
build/nlp-native/labeling/nlp/SOURCES: $(wildcard labeling/nlp/*.py) | $(VENV)/.installed
	@$(BIN)/python -c "from labeling.nlp import native; native.build()"

native: venv build/nlp-native/labeling/nlp/SOURCES

# The app's own assets need the runtime dependencies only; the tests also need the
# devDependencies (the OHIF viewer that tests/browser/test_ohif.py drives, about 550 MB),
# so `make demo` does not download them and `make test` does.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --omit=dev

OHIF_BUNDLE := node_modules/@ohif/viewer/dist/index.umd.js
$(OHIF_BUNDLE): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test-assets: vendor $(OHIF_BUNDLE)

frontend/static/vendor/htmx.min.js: node_modules/.package-lock.json frontend/build.mjs
	npm run --silent build

vendor: frontend/static/vendor/htmx.min.js

migrate: venv
	@mkdir -p "$${RADBOT_VAR_DIR:-var}/staticfiles"
	$(MANAGE) migrate --noinput -v 0

demo-data: migrate
	$(MANAGE) demo_pipeline --studies $(DEMO_STUDIES) --seed $(DEMO_SEED) --data-dir $(DEMO_DATA)

demo: venv native vendor demo-data
	@$(MANAGE) create_demo_users
	@echo "Serving RadBot Web on http://127.0.0.1:8000/  (Ctrl+C stops it)"
	$(MANAGE) runserver 127.0.0.1:8000 --noreload

# mypy checks the pure cores listed in pyproject.toml, [tool.mypy].
test: venv native test-assets
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# requirements.txt from requirements/*.in (options in pyproject.toml, [tool.pip-tools]).
# Needs the package index; keeps every pin it can. Move one on with
# `make lock LOCK_ARGS="--upgrade-package django"`. requirements/README.md says more.
lock: venv
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet $(LOCK_ARGS) \
	  --output-file=requirements.txt requirements/dev.in

bench: venv native
	$(BIN)/python bench/ingest.py

clean:
	rm -rf var node_modules frontend/static/vendor build
