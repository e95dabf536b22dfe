# Two entry points on a fresh machine: `make demo` and `make test`. Everything else is bootstrapped.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda's newest Python runtime that this machine also has (see template.yaml Globals).
PYTHON_VERSION := 3.13
PYTHON ?= $(shell command -v python$(PYTHON_VERSION) 2>/dev/null || ls -d $$HOME/.pyenv/versions/$(PYTHON_VERSION)*/bin/python$(PYTHON_VERSION) 2>/dev/null | tail -n 1)
# The interpreter's own directory, not a pyenv shim's: a shim picks its Python from the working
# directory's .python-version, and sam build runs the layer's Makefile in a scratch directory.
PYTHON_BIN_DIR := $(dir $(shell $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null))

VENV := .venv
VENV_SAM := .venv-sam
VENV_PIPELINE := .venv-pipeline
VENV_CHECKOV := .venv-checkov
BIN := $(VENV)/bin
# Offline, credential-free settings for the AWS tools run by the checks (nothing reaches AWS).
AWS_OFFLINE := AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing \
	AWS_SECRET_ACCESS_KEY=testing SAM_CLI_TELEMETRY=0 SAM_CLI_CONTAINER_CONNECTION_TIMEOUT=1
# sam build checks that the template's runtime is on PATH; the layer's Makefile compiles with it.
SAM := PATH="$(PYTHON_BIN_DIR):$$PATH" $(AWS_OFFLINE) $(VENV_SAM)/bin/sam

.PHONY: help demo test lint typecheck cfn-lint checkov sam-validate sam-build asl-check pytest bench bench-imports reliability clean pipeline

help:
	@echo "make demo   - run the control plane locally on the embedded emulator (default scenario)"
	@echo "make test   - every check CI runs: ruff, mypy, cfn-lint, sam validate, sam build, ASL check, checkov, pytest"
	@echo "make bench  - cold start, size and per-event benchmarks (make bench-imports: the cold starts alone)"
	@echo "make reliability - the reliability and security proof suite, full profile (make test runs its quick profile)"
	@echo "make pipeline - write the reference pipeline's definition (sagemaker SDK in .venv-pipeline, offline)"

# --no-compile: byte-compiling every installed module doubles a venv's setup; Python compiles what
# a check imports, on first import, and caches it (hence the unexport: with PYTHONDONTWRITEBYTECODE
# set, as some images do, every process compiled moto and botocore from source again, ~3 s of CPU).
unexport PYTHONDONTWRITEBYTECODE
PIP_INSTALL := -q --disable-pip-version-check --no-compile

$(BIN)/.stamp: requirements/dev.txt layers/mlcp/pyproject.toml cli/pyproject.toml
	@test -n "$(PYTHON)" || { echo "python$(PYTHON_VERSION) not found (pyenv install $(PYTHON_VERSION))" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_INSTALL) -r requirements/dev.txt -e layers/mlcp -e cli
	touch $@

$(VENV_SAM)/bin/.stamp: requirements/sam.txt
	@test -n "$(PYTHON)" || { echo "python$(PYTHON_VERSION) not found" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV_SAM)
	$(VENV_SAM)/bin/pip install $(PIP_INSTALL) -r requirements/sam.txt
	touch $@

# checkov pins its own boto3/cfn-lint/networkx ranges, which clash with the dev venv's pins.
$(VENV_CHECKOV)/bin/.stamp: requirements/checkov.txt
	@test -n "$(PYTHON)" || { echo "python$(PYTHON_VERSION) not found" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV_CHECKOV)
	$(VENV_CHECKOV)/bin/pip install $(PIP_INSTALL) -r requirements/checkov.txt
	touch $@

# The sagemaker SDK (~1 GB) lives only here: never in .venv, the runtime layer or Lambda.
$(VENV_PIPELINE)/bin/.stamp: requirements/pipeline.txt
	@test -n "$(PYTHON)" || { echo "python$(PYTHON_VERSION) not found" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV_PIPELINE)
	$(VENV_PIPELINE)/bin/pip install $(PIP_INSTALL) -r requirements/pipeline.txt
	touch $@

pipeline: $(VENV_PIPELINE)/bin/.stamp
	$(AWS_OFFLINE) $(VENV_PIPELINE)/bin/python pipelines/churn_training/pipeline.py \
		--out pipelines/churn_training/definition.json

demo: $(BIN)/.stamp
	$(BIN)/mlcp local run

# Every check at once on every core: make schedules the venvs, the chromium install and the checks
# (pytest spreads itself over the cores too). pytest, the longest, is listed first so it starts as
# soon as .venv is built. -O keeps each check's output in one block; --keep-going reports every
# failing check, and make still exits non-zero when one failed.
CHECKS := pytest lint typecheck cfn-lint checkov sam-validate sam-build asl-check
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

test:
	+@$(MAKE) --no-print-directory --jobs=$$(( $(JOBS) + 1 )) --output-sync=target --keep-going $(CHECKS)

lint: $(BIN)/.stamp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.stamp
	$(BIN)/mypy layers/mlcp/mlcp cli/src/mlcp_cli
	@# Every function is a module named `app`: with explicit package bases each is checked as
	@# functions.<name>.app, all in one run (Powertools decorators are untyped).
	$(BIN)/mypy --strict --allow-untyped-decorators --explicit-package-bases functions/*/app.py

# With the serverless rules (cfn-lint-serverless); member.yaml (no functions) with the default rules. Three of them cannot see through SAM and are
# ignored; tests/reliability/test_static_security.py asserts what they meant, on the translated template:
#   WS1004 log group with retention per function: ours are attached by LoggingConfig.LogGroup, which the rule does not follow;
#   ES1007 EventInvokeConfig per async permission: SAM's EventInvokeConfig property generates it, the rule looks for a resource;
#   ES6000 RedrivePolicy on every queue: our three queues are themselves the dead-letter / parking queues.
cfn-lint: $(BIN)/.stamp
	$(BIN)/cfn-lint --append-rules cfn_lint_serverless.rules --ignore-checks WS1004 ES1007 ES6000 -- template.yaml
	$(BIN)/cfn-lint -- member.yaml

# checkov reads what CloudFormation receives: the template translated by aws-sam-translator.
# Suppressions: .checkov.yaml (every function) and Metadata in template.yaml (one resource), each with its reason.
checkov: $(BIN)/.stamp $(VENV_CHECKOV)/bin/.stamp
	$(AWS_OFFLINE) $(BIN)/python -m mlcp_cli.static template.yaml .aws-sam/translated.json
	$(VENV_CHECKOV)/bin/checkov --config-file .checkov.yaml -f .aws-sam/translated.json
	@# The member stack (member.yaml) is plain CloudFormation: checked as written.
	$(VENV_CHECKOV)/bin/checkov --config-file .checkov.yaml -f member.yaml

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
	$(SUDO) apt-get -o DPkg::Lock::Timeout=600 update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		--no-install-recommends chromium

# Every tier (markers unit, emulator, e2e, reliability: tests/conftest.py) on every core. A test module
# is the unit of distribution: its module-scoped stack is deployed once, on one worker. Modules go out
# in collection order (tests/conftest.py puts the costliest tiers first), not xdist's by-size order.
# PYTEST_ARGS narrows a run: make pytest PYTEST_ARGS='-m unit'.
PYTEST_WORKERS ?= auto
PYTEST_ARGS ?=
PYTEST := $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

pytest: $(BIN)/.stamp $(CHROMIUM)
	MLCP_REQUIRE_CHROMIUM=1 $(PYTEST) $(PYTEST_ARGS)

# The proof suite at full scale; its quick profile runs inside `make test` (pytest collects tests/reliability).
# The full profile runs checkov itself (test_static_security), hence .venv-checkov.
reliability: $(BIN)/.stamp $(VENV_CHECKOV)/bin/.stamp
	MLCP_RELIABILITY_PROFILE=full $(PYTEST) tests/reliability

bench: $(BIN)/.stamp $(VENV_SAM)/bin/.stamp sam-build
	$(BIN)/python -m mlcp_cli.bench

# The cold imports alone: every handler as shipped (the build's layer and its bytecode) and from source.
bench-imports: $(BIN)/.stamp $(VENV_SAM)/bin/.stamp sam-build
	$(BIN)/python -m mlcp_cli.bench --imports-only

clean:
	rm -rf $(VENV) $(VENV_SAM) $(VENV_CHECKOV) .aws-sam .mypy_cache .ruff_cache .pytest_cache
