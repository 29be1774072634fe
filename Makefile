# Callback Sandbox: `make help` lists the targets.
SHELL := bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
SANDBOX   := $(VENV)/bin/sandbox
MODE      ?= auto
PIPELINE  ?= demo
TARGET    ?= localstack
DRY_RUN   ?=
DRY_FLAG  := $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run)
PYTEST    := $(PY) -m pytest
STAMP     := $(VENV)/.installed
export MODE PAYLOAD NAME MACHINE STATUS SEARCH TASK SUCCESS FAILURE CAUSE HEARTBEAT JSON
# Options of the workflow commands, from make variables (MACHINE=, STATUS=, JSON=1 ...).
JSON_FLAG  = $(if $(JSON),--json)
MACHINE_FLAG = $(if $(MACHINE),--machine "$$MACHINE")
# The AWS SDKs AWS bundles in its Node.js Lambda runtimes (v2 up to nodejs16.x, v3 from nodejs18.x), pinned.
NODE_SDKS := localstack-plugin/sandbox_localstack/node/sdk-v2 localstack-plugin/sandbox_localstack/node/sdk-v3

.PHONY: help install up down status logs deploy destroy trigger executions history tasks answer open \
        template test test-unit test-integration e2e e2e-template e2e-docker bench lint clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[1m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo; echo "  Variables: MODE=local|docker|auto (default auto), PAYLOAD='{...}' for trigger, NAME=... for history and answer,"
	@echo "  PIPELINE=demo|none for up, TARGET=localstack|aws and DRY_RUN=1 for deploy/destroy, NAME_PREFIX,"
	@echo "  LOCALSTACK_PORT, SMTP_PORT, MAILCATCHER_PORT, SANDBOX_HOME, APPROVER_EMAIL, APPROVAL_TIMEOUT_SECONDS (see README)"

install: $(STAMP) ## create .venv with a Python >= 3.12 and the pinned packages (and the Node.js Lambda SDKs)

$(STAMP): pyproject.toml constraints.txt localstack-plugin/pyproject.toml $(addsuffix /package-lock.json,$(NODE_SDKS))
	@if [ ! -x $(PY) ]; then \
	  python=$$(scripts/find-python) || exit 1; \
	  echo "Creating $(VENV) with $$python"; \
	  "$$python" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt \
	  -e '.[localstack,test,dev]' -e ./localstack-plugin
	@if command -v npm >/dev/null 2>&1; then \
	  for sdk in $(NODE_SDKS); do \
	    echo "npm ci in $$sdk"; \
	    npm ci --prefix "$$sdk" --ignore-scripts --no-audit --no-fund --loglevel=error || exit 1; \
	  done; \
	else \
	  echo "note: npm not found; Node.js Lambda functions will run without the AWS SDK (install Node.js >= 18.19 and npm, then make install)"; \
	fi
	@touch $@

up: $(STAMP) ## start LocalStack + mail catcher, deploy the pipeline (MODE=...; PIPELINE=none: services only); ports checked first, a second run changes nothing
	@case "$(PIPELINE)" in demo) $(SANDBOX) up --mode $(MODE);; none) $(SANDBOX) up --mode $(MODE) --no-deploy;; \
	  *) echo "PIPELINE must be demo or none, not '$(PIPELINE)'" >&2; exit 2;; esac

down: ## stop everything `make up` started, saying what that drops (safe to run twice)
	@if [ -x $(SANDBOX) ]; then $(SANDBOX) down; else echo "Nothing was running (no $(VENV))."; fi

status: $(STAMP) ## show services, health, and what LocalStack has deployed and running now
	@$(SANDBOX) status

logs: $(STAMP) ## show the end of the service logs
	@$(SANDBOX) logs

deploy: $(STAMP) ## (re)deploy the pipeline into LocalStack (idempotent); TARGET=aws: to AWS; DRY_RUN=1: plan only
	@$(SANDBOX) deploy --target $(TARGET) $(DRY_FLAG)

destroy: $(STAMP) ## remove everything the pipeline made (TARGET=aws: the AWS stack; DRY_RUN=1: list only)
	@$(SANDBOX) destroy --target $(TARGET) $(DRY_FLAG)

template: $(STAMP) ## write the pipeline as an AWS CloudFormation template: .sandbox/template.yaml (+ code zips)
	@$(PY) -m bootstrap template

trigger: $(STAMP) ## send one approval request (PAYLOAD='{"title": "..."}'); prints the execution name
	@$(SANDBOX) trigger "$${PAYLOAD:-}"

executions: $(STAMP) ## recent executions of every state machine (MACHINE=, STATUS=, SEARCH=, JSON=1)
	@$(SANDBOX) executions $(MACHINE_FLAG) $(if $(STATUS),--status "$$STATUS") $(if $(SEARCH),--search "$$SEARCH") $(JSON_FLAG)

history: $(STAMP) ## state transitions of one execution (NAME=..., MACHINE= when several have that name)
	@$(SANDBOX) history "$${NAME:-}" $(MACHINE_FLAG) $(JSON_FLAG)

tasks: $(STAMP) ## every task waiting on a task token or an activity worker, all machines (MACHINE=, JSON=1)
	@$(SANDBOX) tasks $(MACHINE_FLAG) $(JSON_FLAG)

answer: $(STAMP) ## answer a waiting task: NAME=... and SUCCESS='{...}' | FAILURE=Error [CAUSE=...] | HEARTBEAT=1 (TASK=, MACHINE=)
	@$(SANDBOX) answer "$${NAME:-}" $(MACHINE_FLAG) $(if $(TASK),--task "$$TASK") $(JSON_FLAG) \
	  $(if $(SUCCESS),--success "$$SUCCESS",$(if $(FAILURE),--failure "$$FAILURE" $(if $(CAUSE),--cause "$$CAUSE"),$(if $(HEARTBEAT),--heartbeat)))

open: $(STAMP) ## print the web UI URLs (mail catcher and Workflows page)
	@$(SANDBOX) open

test: $(STAMP) ## all tests: unit, integration (own services on free ports) and end to end
	$(PYTEST) tests

test-unit: $(STAMP) ## unit tests only (no services)
	$(PYTEST) tests/unit

test-integration: $(STAMP) ## integration tests (start their own LocalStack / SMTP / catcher)
	$(PYTEST) tests/integration

e2e: $(STAMP) ## end-to-end approval tests against the running sandbox (started if needed)
	$(PYTEST) tests/e2e

e2e-template: $(STAMP) ## the approval tests against the CloudFormation template, deployed through LocalStack
	E2E_PIPELINE=template $(PYTEST) tests/e2e/test_approval_flow.py

e2e-docker: $(STAMP) ## docker mode end to end: Docker installed/started where possible, base image, wheels, up, e2e + lifecycle, down
	@bash docker/e2e-docker.sh

bench: $(STAMP) ## benchmark: latency per stage, load, memory, start-up, catcher vs MailDev (BENCH_QUICK=1)
	$(PY) -m bench

lint: $(STAMP) ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean: down ## stop and remove .sandbox/ (keeps .venv)
	rm -rf .sandbox test-artifacts
