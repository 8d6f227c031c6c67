# hostnet: the two commands are `make demo` and `make test`; both set up everything.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PY      := .venv/bin/python
HOSTNET := .venv/bin/hostnet
ENV     := source scripts/pulumi-env.sh &&
PYTEST  := $(PY) -m pytest -p no:cacheprovider
# Everything that talks to lab addresses runs inside the lab's control namespace.
IN_LAB  := $(HOSTNET) lab exec --

.PHONY: help setup venv debs pulumi wheels lint fmt test test-unit test-lab test-e2e demo lab-up lab-down bench clean

help:
	@echo "make demo   build the lab, pulumi up the example, verify, tear down (KEEP=1 keeps the lab;"
	@echo "            PROFILE=centos7 builds the lab as the seed's CentOS 7 hosts)"
	@echo "make test   lint + unit (as nobody) + integration + lab + e2e tests (what CI runs)"
	@echo "make setup  venv, Debian packages, Pulumi CLI (idempotent)"
	@echo "make bench  transport, seed-stack, fleet and local-agent benchmarks (BENCH_ARGS=--quick)"
	@echo "make lab-up / lab-down / lint / fmt"

setup: debs venv pulumi wheels

debs:
	@bash scripts/install-debs.sh

venv: .venv/.installed
.venv/.installed: pyproject.toml provider/hostnet_lab/pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install -q --upgrade pip
	@# The distribution was called pulumi-hostnet once; that name sends Pulumi
	@# looking for a resource plugin, so an old install of it must go.
	@$(PY) -m pip uninstall -q -y pulumi-hostnet 2>/dev/null || true
	@$(PY) -m pip install -q -e '.[dev]'
	@# The lab is its own distribution (not in the hostnet wheel); `hostnet lab` needs it.
	@$(PY) -m pip install -q -e provider/hostnet_lab
	@touch $@

pulumi: venv
	@bash scripts/install-pulumi.sh

# pyroute2 0.8.1 and the dataclasses backport, shipped to hosts on Python 3.6-3.8.
wheels: venv
	@sh scripts/install-wheels.sh

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy provider sdk/python tools/pulumi_language_python.py
	.venv/bin/lint-imports
	@command -v shellcheck >/dev/null || { echo "lint: shellcheck is missing: make debs"; exit 1; }
	shellcheck provider/hostnet_lab/scripts/*.sh scripts/*.sh

fmt: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

test: setup lint
	@bash scripts/run-tests.sh

# As nobody when started as root: unit tests need nothing but the venv.
test-unit: venv
	bash scripts/unit-as-nobody.sh -q

# The lab fixture builds the lab, moves the tests into its control namespace and
# removes it at the end (HOSTNET_KEEP_LAB=1 keeps it).
test-lab: setup
	$(ENV) $(PYTEST) tests/lab -q

test-e2e: setup
	$(ENV) $(PYTEST) tests/e2e -q

demo: setup
	@bash scripts/demo.sh

lab-up: setup
	$(HOSTNET) lab up

lab-down: venv
	$(HOSTNET) lab down

# bench/fleet.py runs C = 10 and 50 containers per host (10 with --quick), and
# route_ensure against the table's size (bench/routes.py's measure).
BENCH_CONTAINERS ?= $(if $(findstring --quick,$(BENCH_ARGS)),10,50)
bench: setup
	$(HOSTNET) lab up --containers $(BENCH_CONTAINERS)
	$(ENV) trap '$(HOSTNET) lab down' EXIT; \
	  $(IN_LAB) $(PY) bench/transport.py $(BENCH_ARGS) && $(IN_LAB) $(PY) bench/seed_up.py $(BENCH_ARGS) \
	  && $(IN_LAB) $(PY) bench/fleet.py $(BENCH_ARGS) && $(PY) bench/agent_local.py $(BENCH_ARGS)

clean: lab-down
	rm -rf .pulumi-state
