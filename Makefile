# Thin by design: logic lives in Python under hooks/ (`python -m hooks --help`).
# Variables reach Python through the environment, never spliced into a shell command, and
# exactly as typed: make would expand a `$` in data='token=$5' (and run $(shell ...)).
.DEFAULT_GOAL := help
.PHONY: help service services run test lint check scan dev down doctor env cluster cluster-down \
        update update-check release release-image lock engine bench logs \
        changed image image-scan image-push ci-tools tilt-ci rollout-branch rollout-pr
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
BOOTSTRAP_PYTHON ?= python3
GIVEN := name ref data args cluster context services version runs image base output summary remote
$(foreach given,$(GIVEN),$(eval override $(given) := $$(value $(given))))
export $(GIVEN) BOOTSTRAP_PYTHON

help: ## List the targets
	@awk -F':.*## ' '/^##@ /{print "\n" substr($$0, 5)} \
	    /^[a-z-]+:.*## /{printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

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

##@ A service, on this machine (no cluster)
service: $(VENV)/.installed ## Generate services/<name>: name=orders [ref=HEAD] [data="service_port=9000 team=payments"]
	@$(PYTHON) -m hooks new-service --ref "$$ref" --data-list "$$data" -- "$$name"

services: $(VENV)/.installed ## List the services: template version, team, namespace, ports, update waiting
	@$(PYTHON) -m hooks services

run: $(VENV)/.installed ## Serve one service on 127.0.0.1 with its .env.development: name=orders
	@$(PYTHON) -m hooks local run --name "$$name"

# The tests' own venvs (a service's locked dev tools, the CRD models), built while the
# network is there: the suite itself needs none.
TEST_VENVS := $(VENV)/.installed $(CHECKOV_VENV)/.installed .cache/test-venvs.installed
.cache/test-venvs.installed: $(VENV)/.installed $(wildcard template/locks/*/requirements-dev.lock) \
                             tests/support/requirements-crd.txt
	$(PYTHON) -m tests.support.helpers
	touch $@

# Only the whole suite needs checkov and the tests' venvs.
test: $(VENV)/.installed $(if $(name),,$(TEST_VENVS)) ## name=orders: its tests; no name: every check [args="-k manifests"]
	@$(PYTHON) -m hooks local test --name "$$name" --args "$$args"

lint: $(VENV)/.installed ## name=orders: its ruff; no name: every linter, every service
	@$(PYTHON) -m hooks local lint --name "$$name" --args "$$args"

check: $(TEST_VENVS) ## Static checks of this repo and every service, their tests included [args="-k env"]
	@$(PYTHON) -m hooks local check --args "$$args"

scan: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## Scanners: trivy+checkov over every service and the platform, committed secrets
	@$(PYTHON) -m hooks scan

##@ Every service in a local cluster, with Tilt
CLUSTER = --cluster "$$cluster" --context "$$context"

dev: $(VENV)/.installed ## doctor, cluster, env, tilt up [services="a b"] [cluster=minikube|existing context=NAME]
	@$(PYTHON) -m hooks dev --services "$$services" $(CLUSTER)

down: $(VENV)/.installed ## Stop what the last make dev here started (the cluster keeps running)
	@$(PYTHON) -m hooks down $(CLUSTER)

logs: $(VENV)/.installed ## Follow one service's logs (Tilt's, else kubectl's): name=orders
	@$(PYTHON) -m hooks logs --name "$$name" $(CLUSTER)

doctor: $(VENV)/.installed ## Is this machine ready for make dev? [cluster=minikube|existing context=NAME]
	@$(PYTHON) -m hooks doctor $(CLUSTER)

env: $(VENV)/.installed ## Create each service's missing .env.development and .env.test
	@$(PYTHON) -m hooks env

cluster: $(VENV)/.installed ## Create the local cluster and registry, if missing [cluster=minikube]
	@$(PYTHON) -m hooks cluster up $(CLUSTER)

cluster-down: $(VENV)/.installed ## Delete the local cluster [cluster=minikube]
	@$(PYTHON) -m hooks cluster down $(CLUSTER)

##@ What the CI workflows run (docs/ci.md)
changed: $(VENV)/.installed ## Services touched since base=REF, as JSON [output=FILE: key=value lines too]
	@$(PYTHON) -m hooks changed --base="$$base" --output="$$output"

image: $(VENV)/.installed ## Build a service's runtime image, tagged with the commit: name=orders
	@$(PYTHON) -m hooks image --name="$$name"

image-scan: $(VENV)/.installed ## trivy gate: no HIGH/CRITICAL vulnerability with a fix: name=orders
	@$(PYTHON) -m hooks image-scan --name="$$name"

image-push: $(VENV)/.installed ## Push the scanned image, print its digest: name=orders [summary=FILE]
	@$(PYTHON) -m hooks image-push --name="$$name" --summary="$$summary"

ci-tools: $(VENV)/.installed ## Install CI's pinned k3d, ctlptl and tilt (sha256-checked) in .cache/
	@$(PYTHON) -m hooks ci-tools

tilt-ci: $(VENV)/.installed ## tilt ci over services="a b" [cluster=k3d|existing context=NAME]
	@$(PYTHON) -m hooks tilt-ci --services="$$services" $(CLUSTER)

rollout-branch: $(VENV)/.installed ## Roll version=vX.Y.Z out on branch template-update/vX.Y.Z [remote=origin]
	@$(PYTHON) -m hooks rollout-branch --version="$$version" --remote="$$remote"

rollout-pr: $(VENV)/.installed ## Open or update that branch's pull request (GH_TOKEN): version=vX.Y.Z
	@$(PYTHON) -m hooks rollout-pr --version="$$version"

##@ Template maintenance and CI
update: $(VENV)/.installed ## copier update every service [name=orders] [ref=HEAD] [data="team=payments"]
	@$(PYTHON) -m hooks update --name "$$name" --ref "$$ref" --data-list "$$data"

update-check: $(VENV)/.installed ## List services behind the latest template release (non-zero if any)
	@$(PYTHON) -m hooks update-check

release: $(VENV)/.installed ## Tag template version=X.Y.Z (needs its CHANGELOG.md entry)
	@$(PYTHON) -m hooks release "$$version"

release-image: $(VENV)/.installed ## Record a service's released image: name= image=REF@sha256:... version=
	@$(PYTHON) -m hooks release-image --name "$$name" --image "$$image" --version "$$version"

lock: $(VENV)/.installed ## Re-lock the template's dependencies, or a service's [name=orders] (needs PyPI)
	@$(PYTHON) -m hooks lock --name "$$name"

engine: $(VENV)/.installed ## A Docker engine and base images for the container tests (installs if root)
	@$(PYTHON) -m tests.support.engine

bench: $(TEST_VENVS) ## Measure the developer loop; writes docs/benchmarks.md [runs=5]
	$(PYTHON) -m bench $${runs:-5}
