# The two commands of the README are `make run` and `make test`; the rest are conveniences.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run serve test lint format docs bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## create .venv with the service and its dev tools

run: $(STAMP) ## build the lakehouse from sample_data/ and serve the API on 127.0.0.1:8000
	$(BIN)/c360 run

serve: $(STAMP) ## serve the API over what `make run` built
	$(BIN)/c360 serve

test: $(STAMP) ## run the whole test suite (starts PostgreSQL and the API itself)
	$(BIN)/pytest

lint: $(STAMP) ## ruff, mypy and the generated-docs drift checks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/c360 schema docs --check
	$(BIN)/c360 openapi --check

format: $(STAMP) ## format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs: $(STAMP) ## regenerate schema/ddl, schema/erd.* and api/openapi.json
	$(BIN)/c360 schema docs
	$(BIN)/c360 openapi

bench: $(STAMP) ## the merge, ingestion, identity, risk and API benchmarks (1M rows or customers each, Splink too; many minutes)
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python bench/identity_accuracy.py
	$(BIN)/python bench/identity_scale.py
	$(BIN)/python bench/lakehouse_merge.py
	$(BIN)/python bench/ingest_postgres.py
	$(BIN)/python bench/ingest_kafka.py
	$(BIN)/python bench/api_profile.py
	$(BIN)/python bench/risk_eval.py

clean: ## remove the local lakehouse (.c360/) and the virtualenv
	rm -rf .c360 $(VENV)
