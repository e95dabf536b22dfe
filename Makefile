# Two entry points on a fresh machine: `make demo` and `make test`. Everything else is bootstrapped.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda's newest Python runtime that this machine also has (see template.yaml Globals).
PYTHON_VERSION := 3.13
PYTHON ?= $(shell command -v python$(PYTHON_VERSION) 2>/dev/null || ls -d $$HOME/.pyenv/versions/$(PYTHON_VERSION)*/bin/python$(PYTHON_VERSION) 2>/dev/null | tail -n 1)
PYTHON_BIN_DIR := $(dir $(PYTHON))

VENV := .venv
VENV_SAM := .venv-sam
VENV_PIPELINE := .venv-pipeline
VENV_CHECKOV := .venv-checkov
BIN := $(VENV)/bin
# Offline, credential-free settings for the AWS tools run by the checks (nothing reaches AWS).
AWS_OFFLINE := AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing \
	AWS_SECRET_ACCESS_KEY=testing SAM_CLI_TELEMETRY=0 SAM_CLI_CONTAINER_CONNECTION_TIMEOUT=1
# sam build checks that the template's runtime is on PATH.
SAM := PATH="$(PYTHON_BIN_DIR):$$PATH" $(AWS_OFFLINE) $(VENV_SAM)/bin/sam

.PHONY: help demo test lint typecheck cfn-lint checkov sam-validate sam-build asl-check pytest bench reliability clean pipeline

help:
	@echo "make demo   - run the control plane locally on the embedded emulator (default scenario)"
	@echo "make test   - every check CI runs: ruff, mypy, cfn-lint, sam validate, sam build, ASL check, checkov, pytest"
	@echo "make bench  - cold start, size and per-event benchmarks"
	@echo "make reliability - the reliability and security proof suite, full profile (make test runs its quick profile)"
	@echo "make pipeline - write the reference pipeline's definition (sagemaker SDK in .venv-pipeline, offline)"

$(BIN)/.stamp: requirements/dev.txt layers/mlcp/pyproject.toml cli/pyproject.toml
	@test -n "$(PYTHON)" || { echo "python$(PYTHON_VERSION) not found (pyenv install $(PYTHON_VERSION))" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements/dev.txt -e layers/mlcp -e cli
	touch $@

$(VENV_SAM)/bin/.stamp: requirements/sam.txt
	@test -n "$(PYTHON)" || { echo "python$(PYTHON_VERSION) not found" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV_SAM)
	$(VENV_SAM)/bin/pip install -q --disable-pip-version-check -r requirements/sam.txt
	touch $@

# checkov pins its own boto3/cfn-lint/networkx ranges, which clash with the dev venv's pins.
$(VENV_CHECKOV)/bin/.stamp: requirements/checkov.txt
	@test -n "$(PYTHON)" || { echo "python$(PYTHON_VERSION) not found" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV_CHECKOV)
	$(VENV_CHECKOV)/bin/pip install -q --disable-pip-version-check -r requirements/checkov.txt
	touch $@

# The sagemaker SDK (~1 GB) lives only here: never in .venv, the runtime layer or Lambda.
$(VENV_PIPELINE)/bin/.stamp: requirements/pipeline.txt
	@test -n "$(PYTHON)" || { echo "python$(PYTHON_VERSION) not found" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV_PIPELINE)
	$(VENV_PIPELINE)/bin/pip install -q --disable-pip-version-check -r requirements/pipeline.txt
	touch $@

pipeline: $(VENV_PIPELINE)/bin/.stamp
	$(AWS_OFFLINE) $(VENV_PIPELINE)/bin/python pipelines/churn_training/pipeline.py \
		--out pipelines/churn_training/definition.json

demo: $(BIN)/.stamp
	$(BIN)/mlcp local run

test: lint typecheck cfn-lint checkov sam-validate sam-build asl-check pytest

lint: $(BIN)/.stamp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.stamp
	$(BIN)/mypy layers/mlcp/mlcp cli/src/mlcp_cli
	@# Every function is a module named `app`: check each on its own (Powertools decorators are untyped).
	@for f in functions/*/app.py; do echo "mypy $$f"; $(BIN)/mypy --strict --allow-untyped-decorators "$$f" || exit 1; done

# With the serverless rules (cfn-lint-serverless). Three of them cannot see through SAM and are
# ignored; tests/reliability/test_static_security.py asserts what they meant, on the translated template:
#   WS1004 log group with retention per function: ours are attached by LoggingConfig.LogGroup, which the rule does not follow;
#   ES1007 EventInvokeConfig per async permission: SAM's EventInvokeConfig property generates it, the rule looks for a resource;
#   ES6000 RedrivePolicy on every queue: our three queues are themselves the dead-letter / parking queues.
cfn-lint: $(BIN)/.stamp
	$(BIN)/cfn-lint --append-rules cfn_lint_serverless.rules --ignore-checks WS1004 ES1007 ES6000 -- template.yaml

# checkov reads what CloudFormation receives: the template translated by aws-sam-translator.
# Suppressions: .checkov.yaml (every function) and Metadata in template.yaml (one resource), each with its reason.
checkov: $(BIN)/.stamp $(VENV_CHECKOV)/bin/.stamp
	$(AWS_OFFLINE) $(BIN)/python -m mlcp_cli.static template.yaml .aws-sam/translated.json
	$(VENV_CHECKOV)/bin/checkov --config-file .checkov.yaml -f .aws-sam/translated.json

sam-validate: $(VENV_SAM)/bin/.stamp
	$(SAM) validate --lint --template template.yaml

sam-build: $(VENV_SAM)/bin/.stamp
	$(SAM) build --template template.yaml --build-dir .aws-sam/build

asl-check: $(BIN)/.stamp
	$(BIN)/mlcp asl check template.yaml

# The HTML report test renders the page in a real headless Chromium (Debian's package); a clean CI
# machine starts without it. MLCP_REQUIRE_CHROMIUM makes that test fail, never skip, when it is missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "the report test needs chromium at $@ (no apt-get here)" >&2; exit 1; }
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

pytest: $(BIN)/.stamp $(CHROMIUM)
	MLCP_REQUIRE_CHROMIUM=1 $(BIN)/pytest -q

# The proof suite at full scale; its quick profile runs inside `make test` (pytest collects tests/reliability).
reliability: $(BIN)/.stamp
	MLCP_RELIABILITY_PROFILE=full $(BIN)/pytest -q tests/reliability

bench: $(BIN)/.stamp $(VENV_SAM)/bin/.stamp sam-build
	$(BIN)/python -m mlcp_cli.bench

clean:
	rm -rf $(VENV) $(VENV_SAM) $(VENV_CHECKOV) .aws-sam .mypy_cache .ruff_cache .pytest_cache
