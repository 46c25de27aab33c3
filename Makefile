# govpulse: the two commands of the README, plus helpers. Works on a machine with only
# Python 3.11 and make: uv is installed from PyPI when missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen

export DO_NOT_TRACK := 1
export SCARF_ANALYTICS := false
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export GX_ANALYTICS_ENABLED := False
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export AIRFLOW_HOME ?= $(CURDIR)/.airflow

# The demo is a deployment that serves two territories (GOVPULSE_TERRITORIES, CONTRACTS §2a):
# Kazakhstan's weekly ratings and Mari El's monthly incident rating and fakes report, each with
# its own inbox, private warehouse and published folder under var/.
DEMO_DIR := var/demo
DEMO_WEEKS := 2026-11-06 2026-11-13
DEMO_MONTH := 2026-11
DEMO_YEAR := 2026
DEMO_ENV := GOVPULSE_TERRITORIES=$(DEMO_DIR)/territories GOVPULSE_INBOX=$(DEMO_DIR)/inbox \
            GOVPULSE_WAREHOUSE=var/warehouse.duckdb GOVPULSE_PUBLISH_DIR=var/publish
KZ := --territory kz
MARI_EL := --territory ru-mari-el

.PHONY: help install demo test test-fast lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install:  ## install uv if missing and the locked environment
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -c "import uv" 2>/dev/null \
		|| { echo "installing uv from PyPI…"; $(PYTHON) -m pip install --quiet --user uv; }
	$(UV) sync --frozen

demo: install  ## two territories: Kazakh weeks, month and year, Mari El's month of incidents and fakes, through Airflow
	$(RUN) govpulse generate --out $(DEMO_DIR) $(KZ) --weeks 2 --seed 42
	$(RUN) govpulse generate --out $(DEMO_DIR) $(MARI_EL) --weeks 2 --seed 42
	@for week in $(DEMO_WEEKS); do \
		$(DEMO_ENV) $(RUN) govpulse run weekly $(KZ) --period-start $$week || exit 1; \
	done
	@$(DEMO_ENV) $(RUN) govpulse run monthly $(KZ) --month $(DEMO_MONTH)
	@$(DEMO_ENV) $(RUN) govpulse run annual $(KZ) --year $(DEMO_YEAR)
	@$(DEMO_ENV) $(RUN) govpulse run monthly $(MARI_EL) --month $(DEMO_MONTH)
	@$(DEMO_ENV) $(RUN) govpulse show $(KZ)
	@$(DEMO_ENV) $(RUN) govpulse show $(MARI_EL)
	@$(DEMO_ENV) $(RUN) govpulse territories

test: install lint  ## lint and run the whole test suite: every tier (real Airflow, dbt, DuckDB, GX)
	# two workers, whole files each (module fixtures run DAGs once); a DAG run waits on
	# subprocesses and Airflow's loop about half the time, so 2 cores overlap well. Files go
	# out in the order tests/conftest.py sorts them (slowest first), not by test count
	$(RUN) pytest -n 2 --dist loadfile --no-loadscope-reorder

test-fast: install lint  ## lint and the unit and dbt tiers: no Airflow (about three minutes: the inner loop)
	$(RUN) pytest -n 2 --dist loadfile --no-loadscope-reorder -m "unit or dbt"

BENCH_SCALES ?= 0.01 0.1 1

bench: install  ## benchmark the weekly run at scales $(BENCH_SCALES) against the floor, pandas and dlt
	$(RUN) govpulse bench $(foreach s,$(BENCH_SCALES),--scale $(s))

lint: install  ## ruff, the import rules (.importlinter), mypy, and SQLFluff on the dbt project
	$(RUN) ruff check .
	$(RUN) lint-imports
	$(RUN) mypy
	$(RUN) sqlfluff lint dbt_project

clean:  ## remove generated state (warehouse, published files, Airflow home)
	rm -rf var .airflow dbt_project/target dbt_project/logs
