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

.PHONY: generate
generate: ## Generate DeepCopy methods for the API types.
	@hack/tools.sh controller-gen
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: verify-generated
verify-generated: manifests generate ## Fail when generated files differ from what is committed.
	@if [ -n "$$(git status --porcelain -- api config charts)" ]; then \
		git status --porcelain -- api config charts; \
		echo "generated files are out of date: run make manifests generate and commit" >&2; exit 1; fi

.PHONY: build
build: ## Build every Homeward binary into bin/.
	go build -o $(BIN)/ ./cmd/...

.PHONY: lint
lint: ## go vet, gofmt, staticcheck and helm lint; fails on any finding.
	go vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:" >&2; echo "$$out" >&2; exit 1; fi
	@hack/tools.sh staticcheck helm
	$(BIN)/staticcheck ./...
	$(BIN)/helm lint --strict charts/homeward

.PHONY: test
test: deps tools verify-generated build ## Install what is missing, then run the whole suite against real parts.
	go test $(TEST_FLAGS) -p $(TEST_PARALLEL) ./...

.PHONY: dev
dev: deps ## Run the local platform (control plane with the Partnership CRD) until Ctrl-C.
	@hack/tools.sh kube-apiserver kube-controller-manager etcd kratos
	go build -o $(BIN)/ ./cmd/homeward ./cmd/homeward-dev
	$(BIN)/homeward-dev
