# Thin by design: logic lives in Python under hooks/ (`python -m hooks --help`).
# Variables reach Python through the environment, never spliced into a shell command.
.DEFAULT_GOAL := help
.PHONY: help service update update-check release test check lint scan lock doctor cluster \
        cluster-down env dev down engine bench
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
BOOTSTRAP_PYTHON ?= python3
cluster ?= k3d
export name ref data args cluster context services version runs

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# checkov gets its own venv: beside the main tools it downgrades `packaging`.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(BOOTSTRAP_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

service: $(VENV)/.installed ## Generate services/<name>: name=orders [ref=HEAD] [data="service_port=9000 team=payments"]
	@$(PYTHON) -m hooks new-service --ref "$$ref" --data-list "$$data" -- "$$name"

update: $(VENV)/.installed ## copier update every service [name=orders] [ref=HEAD] [data="team=payments"]
	@$(PYTHON) -m hooks update --name "$$name" --ref "$$ref" --data-list "$$data"

update-check: $(VENV)/.installed ## List services behind the latest template release (non-zero if any)
	@$(PYTHON) -m hooks update-check

release: $(VENV)/.installed ## Tag template version=X.Y.Z (needs its CHANGELOG.md entry)
	@$(PYTHON) -m hooks release "$$version"

test: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## Run every check (args="-k manifests" to select)
	$(PYTHON) -m pytest $$args

check: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## Static checks of this repo and services/, no cluster needed
	$(PYTHON) -m pytest -m check $$args

lint: $(VENV)/.installed ## Linters only: ruff, mypy, yamllint, shellcheck, hadolint
	$(PYTHON) -m pytest -m lint $$args

scan: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## Scanners: trivy+checkov over every service and the platform, committed secrets
	@$(PYTHON) -m hooks scan

engine: $(VENV)/.installed ## A Docker engine and base images for the container tests (installs if root)
	@$(PYTHON) -m hooks engine

bench: $(VENV)/.installed ## Measure the developer loop; writes docs/benchmarks.md [runs=5]
	$(PYTHON) -m bench $${runs:-5}

lock: $(VENV)/.installed ## Re-lock the template's dependencies, or a service's [name=orders] (needs PyPI)
	@$(PYTHON) -m hooks lock --name "$$name"

CLUSTER = --cluster "$$cluster" --context "$$context"

doctor: $(VENV)/.installed ## Is this machine ready for make dev? [cluster=minikube|existing context=NAME]
	@$(PYTHON) -m hooks doctor $(CLUSTER)

cluster: $(VENV)/.installed ## Create the local cluster and registry, if missing [cluster=minikube]
	@$(PYTHON) -m hooks cluster up $(CLUSTER)

cluster-down: $(VENV)/.installed ## Delete the local cluster [cluster=minikube]
	@$(PYTHON) -m hooks cluster down $(CLUSTER)

env: $(VENV)/.installed ## Create each service's missing .env.development and .env.test
	@$(PYTHON) -m hooks env

dev: $(VENV)/.installed ## doctor, cluster, env, tilt up [services="a b"] [cluster=minikube|existing context=NAME]
	@$(PYTHON) -m hooks doctor $(CLUSTER)
	@$(PYTHON) -m hooks cluster up $(CLUSTER)
	@$(PYTHON) -m hooks env
	@$(PYTHON) -m hooks tilt up --services "$$services" $(CLUSTER)

down: $(VENV)/.installed ## Stop what make dev started (the cluster keeps running) [cluster=... context=...]
	@$(PYTHON) -m hooks tilt down $(CLUSTER)
