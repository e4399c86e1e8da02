# Thin by design: logic lives in Python under hooks/ (`python -m hooks --help`).
# Variables reach Python through the environment, never spliced into a shell command.
.DEFAULT_GOAL := help
.PHONY: help service test lock
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
BOOTSTRAP_PYTHON ?= python3
export name ref data args

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

service: $(VENV)/.installed ## Generate services/<name>: name=orders [ref=HEAD] [data="service_port=9000 team=payments"]
	@$(PYTHON) -m hooks new-service "$$name" --ref "$$ref" --data-list "$$data"

test: $(VENV)/.installed ## Run every check (args="-k manifests" to select)
	$(PYTHON) -m pytest $$args

lock: $(VENV)/.installed ## Re-pin the template's hash-locked dependencies (needs PyPI)
	$(PYTHON) -m hooks lock
