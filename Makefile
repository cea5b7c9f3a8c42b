# Homeward — make help lists every target.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BIN := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
# Test packages start real servers and mostly wait on them, so run more at once than there are cores.
TEST_PARALLEL ?= 4
TEST_FLAGS ?= -count=1 -timeout=20m

##@ General

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
		/^[a-zA-Z_-]+:.*?##/ {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2} \
		/^##@/ {printf "\n\033[1m%s\033[0m\n", substr($$0, 5)}' $(MAKEFILE_LIST)

##@ Setup

.PHONY: deps
deps: ## Install the Debian packages Homeward needs (redis-server, …) when missing.
	@hack/install-deps.sh

.PHONY: tools
tools: ## Build the real parts (kube-apiserver, etcd, kube-controller-manager, kratos, controller-gen, helm) into bin/ when missing.
	@hack/tools.sh

##@ Development

.PHONY: manifests
manifests: ## Generate the CRD and RBAC role (and the chart's copies) from the API and controller markers.
	@hack/tools.sh controller-gen
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths=./api/... paths=./controllers/... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	cp config/crd/bases/*.yaml charts/homeward/crds/
	cp config/rbac/role.yaml charts/homeward/files/role.yaml
	cp config/rbac/metrics_reader_role.yaml charts/homeward/files/metrics_reader_role.yaml
	cp config/admission/tenant-guard.yaml charts/homeward/files/tenant-guard.yaml

.PHONY: generate
generate: ## Generate DeepCopy methods for the API types and the Go clients of the services' OpenAPI descriptions.
	@hack/tools.sh controller-gen
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	@go generate ./clients/... 2>&1 | { grep -v -e 'not canonical' -e 'Convenient errors' -e 'will not be enforced' || true; }

.PHONY: verify-generated
verify-generated: manifests generate ## Fail when generated files differ from what is committed.
	@if [ -n "$$(git status --porcelain -- api config charts clients)" ]; then \
		git status --porcelain -- api config charts clients; \
		echo "generated files are out of date: run make manifests generate and commit" >&2; exit 1; fi

.PHONY: vendor-assets
vendor-assets: ## Copy GOV.UK Frontend, MoJ Frontend and axe-core from the pinned npm packages into services/portal (commit the result).
	@hack/vendor-assets.sh

.PHONY: screenshots
screenshots: deps tools ## Refresh docs/screenshots/ from the portal's browser test.
	mkdir -p docs/screenshots
	HOMEWARD_SCREENSHOTS=$(CURDIR)/docs/screenshots go test -count=1 -run 'TestPortalInABrowser|InABrowser' ./services/portal/

.PHONY: build
build: ## Build every Homeward binary into bin/.
	go build -o $(BIN)/ ./cmd/...

IMAGES := $(CURDIR)/dist/images

.PHONY: images
images: deps ## Build the homeward, kratos and redis OCI images into dist/images/ (no Docker; same inputs, same digests) and print their digests.
	@hack/tools.sh kratos
	@echo "[images] building static homeward and homeward-operator"
	@mkdir -p $(IMAGES)/bin
	@CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -buildid=" -o $(IMAGES)/bin/ ./cmd/homeward ./cmd/homeward-operator
	@go run ./cmd/homeward-images --out $(IMAGES) --bin $(IMAGES)/bin --kratos $(BIN)/kratos --redis-server /usr/bin/redis-server

.PHONY: node-tools
node-tools: ## Install the pinned npm tooling (package-lock.json) into node_modules/ when it is missing or stale.
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
		npm ci --ignore-scripts --no-audit --no-fund --loglevel=error; fi

.PHONY: lint-openapi
lint-openapi: node-tools ## Lint the services' OpenAPI descriptions with @redocly/cli (redocly.yaml): no errors, no warnings.
	@node_modules/.bin/redocly lint --max-problems=200 2>&1 | grep -v '[║╔╚]'; \
		status=$${PIPESTATUS[0]}; [ "$$status" -eq 0 ] || exit "$$status"
	@summary=$$(node_modules/.bin/redocly lint --format=summary 2>&1); \
		if grep -q '^warning' <<<"$$summary"; then echo "OpenAPI lint warnings: fix them" >&2; exit 1; fi

.PHONY: lint
lint: lint-openapi ## go vet, gofmt, goimports, staticcheck, helm lint and the OpenAPI lint; fails on any finding.
	go vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:" >&2; echo "$$out" >&2; exit 1; fi
	@hack/tools.sh staticcheck helm goimports
	@out=$$($(BIN)/goimports -local github.com/homeward-dev/homeward -l $$(git ls-files '*.go' | grep -v -e '^clients/.*_gen.go$$' -e 'zz_generated')); \
		if [ -n "$$out" ]; then echo "goimports would change:" >&2; echo "$$out" >&2; exit 1; fi
	$(BIN)/staticcheck ./...
	$(BIN)/helm lint --strict charts/homeward

.PHONY: test
test: deps tools verify-generated build images ## Install what is missing, then run the whole suite against real parts, the end-to-end tests on a one-node cluster last.
	@hack/tools.sh --node
	go test $(TEST_FLAGS) -p $(TEST_PARALLEL) $$(go list ./... | grep -v -e '/test/e2e$$' -e '/test/soak$$')
	@$(MAKE) --no-print-directory fuzz
	@# Alone: a minute of mixed load whose latencies other tests would distort.
	go test $(TEST_FLAGS) ./test/soak/
	@# Alone too: every benchmark once at small sizes, so that make bench cannot rot.
	@$(MAKE) --no-print-directory bench QUICK=1
	@# Alone, after the rest: it changes the machine's network (restored when it ends) and loads both cores.
	HOMEWARD_E2E_IMAGES=$(IMAGES) go test $(TEST_FLAGS) ./test/e2e/

.PHONY: verify
verify: deps tools build ## Attack the platform as a whole (isolation, durability and faults, bad input), write docs/security.md with the results, then fuzz. Part of make test.
	HOMEWARD_SECURITY_DOC=$(CURDIR)/docs/security.md go test -count=1 -timeout 20m ./test/verify/ ./config/ ./api/...
	@$(MAKE) --no-print-directory fuzz

# Every fuzz target, as package:Target. Each runs for FUZZTIME from its committed corpus
# (testdata/fuzz/<Target>/), which `go test` also replays on every run of the suite.
FUZZ_TARGETS := \
	./services/kit/httpapi:FuzzDecode \
	./services/kit/money:FuzzParseAgreesWithString \
	./services/kit/nhsnumber:FuzzNormalize \
	./services/kit/calendar:FuzzParseDate \
	./services/kit/calendar:FuzzAddWorkingDays \
	./services/kit/importer:FuzzReader \
	./services/referral:FuzzCreateRequest \
	./services/housing:FuzzRequests
FUZZTIME ?= 8s

.PHONY: fuzz
fuzz: ## Fuzz every JSON decoder, the NHS number, date and money parsers, the working-day calculator and the CSV reader, FUZZTIME (8s) each. Part of make verify and make test.
	@FUZZTIME=$(FUZZTIME) hack/fuzz.sh $(FUZZ_TARGETS)

SOAK_DURATION ?= 10m

.PHONY: soak
soak: deps tools build ## 64 clients on three tenants for SOAK_DURATION (10m): 0 errors, p99 budgets, flat memory and goroutines; writes docs/soak/.
	HOMEWARD_SOAK_DURATION=$(SOAK_DURATION) HOMEWARD_SOAK_OUT=$(CURDIR)/docs/soak go test -count=1 -timeout 60m -v ./test/soak/

.PHONY: bench
bench: deps tools build ## Run every benchmark next to its baseline (3 runs, medians and ranges) and write docs/benchmarks.md; QUICK=1 runs each once at small sizes as a smoke check and writes nothing.
	go run ./cmd/homeward-bench $(if $(filter 1 yes true,$(QUICK)),--quick,--out $(CURDIR)/docs/benchmarks.md)

.PHONY: cluster
cluster: deps images ## Run a one-node Kubernetes cluster with real pods (containerd, kubelet, kube-proxy, CoreDNS, enforced NetworkPolicies) and the images imported, until Ctrl-C; prints a kubeconfig. Needs root.
	@hack/tools.sh --node
	go run ./cmd/homeward-cluster --images $(IMAGES)

.PHONY: e2e
e2e: deps images ## helm install Homeward into a one-node cluster with real pods and run the end-to-end tests (docs/operations.md). Needs root.
	@hack/tools.sh --node
	HOMEWARD_E2E_IMAGES=$(IMAGES) go test -count=1 -timeout 30m -v ./test/e2e/

.PHONY: dev
dev: deps ## Run the local platform (control plane, trace viewer, operator, sample partnerships) until Ctrl-C; DEMO=1 adds a year of synthetic history.
	@hack/tools.sh kube-apiserver kube-controller-manager etcd kratos otel-desktop-viewer
	@echo "[dev] building homeward and homeward-dev"
	@go build -o $(BIN)/ ./cmd/homeward ./cmd/homeward-dev
	$(BIN)/homeward-dev $(if $(filter 1 yes true,$(DEMO)),--demo)
