# The two commands of the README:  `make demo`  and  `make test`.
# SPARK_LINE=35 selects the Spark 3.5 / Delta 3.3 compat line (its own venv).
SPARK_LINE ?= 41
VENV ?= $(if $(filter 35,$(SPARK_LINE)),.venv35,.venv)
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.careplus-installed
LINT_STAMP := $(VENV)/.careplus-lint-installed

.PHONY: setup demo test test-fast smoke services lint clean

$(STAMP): setup.py constraints-spark$(SPARK_LINE).txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' -c constraints-spark$(SPARK_LINE).txt
	touch $(STAMP)

## setup: Python packages (venv), JVM jars (Maven Central -> ~/.cache/careplus/jars), log reader
setup: $(STAMP)
	$(BIN)/careplus setup

## demo: set up, then generate data and run the whole pipeline on the embedded default
demo: setup
	$(BIN)/careplus demo

$(LINT_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[lint]' -c constraints-spark$(SPARK_LINE).txt
	touch $(LINT_STAMP)

## lint: ruff, mypy and the import-linter contracts (.importlinter: layers, no cycles)
lint: $(LINT_STAMP)
	$(BIN)/ruff check careplus_spark jobs tests bench
	$(BIN)/mypy careplus_spark jobs
	$(BIN)/lint-imports

## services: install MariaDB and the S3 gateway the integration tests start (needs root/apt)
services:
	bash .ci/install-services.sh

## test: the whole suite, with real MariaDB and S3 servers started by the fixtures
test: setup services
	$(BIN)/python -m pytest --durations=30

## test-fast: unit tests only (no servers, no Spark cluster)
test-fast: setup
	$(BIN)/python -m pytest -m "not integration and not slow"

## smoke: the compat subset (demo + a few integration tests), e.g. SPARK_LINE=35 make smoke
smoke: setup services
	$(BIN)/python -m pytest -m smoke

clean:
	rm -rf lakehouse data dist build *.egg-info
