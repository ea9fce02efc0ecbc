# energy-forecasting: `make demo` runs the system, `make test` runs the tests. `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen
DATA_DIR ?= $(CURDIR)/.data
EMULATOR_PORT ?= 4443
export EF_DATA_DIR ?= $(DATA_DIR)

.PHONY: help setup test test-fast lint format demo compile bench clean

help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: every kfp.local step is a fresh interpreter, and with PYTHONDONTWRITEBYTECODE
# set (as on these machines) each one would otherwise recompile GX, MLflow and LightGBM from source.
setup: $(UV) ## install everything from the lock file into .venv/ (idempotent)
	$(UV) sync --frozen --python 3.11 --compile-bytecode
	# the benchmark peers (statsforecast, mlforecast: pandas<3) in their own locked env (bench/peers/)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/bench/peers/.venv $(UV) sync --frozen --project bench/peers --python 3.11 \
		--compile-bytecode
	@for step in .ci/setup.d/*.sh; do [ -e "$$step" ] && bash "$$step"; done; true

test: setup ## run the whole test suite (offline)
	$(RUN) pytest

test-fast: setup ## the inner loop: every test not marked slow (no whole pipelines, browsers, benchmarks)
	$(RUN) pytest -m "not slow"

lint: setup ## ruff + mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

format: setup ## apply ruff's formatting and fixes
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

compile: setup ## compile the pipeline to build/pipeline.yaml
	$(RUN) python -m pipelines compile --output build/pipeline.yaml

demo: setup ## run the pipeline locally on the emulator, then serve the API and dashboard
	bash .ci/demo.sh

clean: ## remove local data and build outputs (keeps .venv)
	rm -rf .data build local_outputs test-artifacts

include infra/MAKE_TARGETS.mk
