# Image URL to use all building/pushing image targets
IMG ?= controller:latest
# YEAR defines the year value used for substituting the YEAR placeholder in the boilerplate header.
YEAR ?= $(shell date +%Y)

# Get the currently used golang install path (in GOPATH/bin, unless GOBIN is set)
ifeq (,$(shell go env GOBIN))
GOBIN=$(shell go env GOPATH)/bin
else
GOBIN=$(shell go env GOBIN)
endif

# CONTAINER_TOOL defines the container tool to be used for building images.
# Be aware that the target commands are only tested with Docker which is
# scaffolded by default. However, you might want to replace it to use other
# tools. (i.e. podman)
CONTAINER_TOOL ?= docker

# Setting SHELL to bash allows bash commands to be executed by recipes.
# Options are set to exit when a recipe line exits non-zero or a piped command fails.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

# The help target prints out all targets with their descriptions organized
# beneath their categories. The categories are represented by '##@' and the
# target descriptions by '##'. The awk command is responsible for reading the
# entire set of makefiles included in this invocation, looking for lines of the
# file as xyz: ## something, and then pretty-format the target and help. Then,
# if there's a line with ##@ something, that gets pretty-printed as a category.
# More info on the usage of ANSI control characters for terminal formatting:
# https://en.wikipedia.org/wiki/ANSI_escape_code#SGR_parameters
# More info on the awk command:
# http://linuxcommand.org/lc3_adv_awk.php

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate WebhookConfiguration, ClusterRole and CustomResourceDefinition objects.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases
	@$(MAKE) --no-print-directory chart-files

.PHONY: generate
generate: controller-gen ## Generate code containing DeepCopy, DeepCopyInto, and DeepCopyObject method implementations.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt",year=$(YEAR) paths="./..."

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code.
	go vet ./...

# KUBEBUILDER_ASSETS is where the envtest binaries are once setup-envtest has run.
KUBEBUILDER_ASSETS ?= $(ENVTEST_DIR)/k8s/$(ENVTEST_K8S_VERSION)-$(shell go env GOOS)-$(shell go env GOARCH)
export KUBEBUILDER_ASSETS

.PHONY: test
test: manifests generate fmt vet actionlint setup-envtest kustomize helm ## Run unit and envtest integration tests (everything but e2e), and actionlint.
	go test $$(go list ./... | grep -v /test/e2e) -timeout 30m -coverprofile cover.out

# The chart renders its CRDs, manager RBAC, webhooks and PrometheusRule from copies of what
# controller-gen and config/ produce, so it never drifts; test/manifests fails if the copies differ.
.PHONY: chart-files
chart-files: ## Copy generated CRDs, RBAC, webhooks, rules, the dashboard and the example policies into charts/heal8s/files.
	@mkdir -p charts/heal8s/files/crds charts/heal8s/files/rbac charts/heal8s/files/webhook charts/heal8s/files/prometheus
	@rm -f charts/heal8s/files/crds/*.yaml
	@cp config/crd/bases/*.yaml charts/heal8s/files/crds/
	@cp config/rbac/role.yaml charts/heal8s/files/rbac/role.yaml
	@cp config/rbac/direct_patch_role.yaml charts/heal8s/files/rbac/direct_patch_role.yaml
	@mkdir -p charts/heal8s/files/approval && cp config/approval/approver_role.yaml config/approval/approval_policy.yaml charts/heal8s/files/approval/
	@cp config/webhook/manifests.yaml charts/heal8s/files/webhook/manifests.yaml
	@cp config/prometheus/prometheusrule.yaml charts/heal8s/files/prometheus/prometheusrule.yaml
	@mkdir -p charts/heal8s/files/grafana && cp examples/grafana/heal8s-dashboard.json charts/heal8s/files/grafana/heal8s-dashboard.json
	@mkdir -p charts/heal8s/files/policies && rm -f charts/heal8s/files/policies/*.yaml && cp examples/policies/*.yaml charts/heal8s/files/policies/

.PHONY: helm-lint
helm-lint: chart-files helm ## Lint the Helm chart and render it with default values.
	"$(HELM)" lint charts/heal8s
	"$(HELM)" template heal8s charts/heal8s --namespace heal8s-system --kube-version $(ENVTEST_K8S_VERSION) >/dev/null

##@ OLM bundle

# BUNDLE_VERSION is the operator version the bundle installs (semver, no v).
BUNDLE_VERSION ?= 0.1.0
BUNDLE_CHANNELS ?= candidate
BUNDLE_DEFAULT_CHANNEL ?= candidate
# OPERATOR_IMG is the manager image the bundle's ClusterServiceVersion installs.
OPERATOR_IMG ?= ghcr.io/heal8s/heal8s:v$(BUNDLE_VERSION)
BUNDLE_IMG ?= ghcr.io/heal8s/heal8s-bundle:v$(BUNDLE_VERSION)
# BUNDLE_CREATED_AT is the CSV's createdAt: the committed bundle's is fixed (so make bundle
# writes the same bytes every time); a release's is the tagged commit's time.
BUNDLE_CREATED_AT ?= 2026-12-02T00:00:00Z

.PHONY: bundle
bundle: manifests kustomize ## Write the OLM bundle (bundle/manifests, bundle/metadata, bundle.Dockerfile) from config/.
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	"$(KUSTOMIZE)" build config/olm > "$$tmp/olm.yaml"; \
	"$(KUSTOMIZE)" build config/samples > "$$tmp/samples.yaml"; \
	go run ./hack/bundle --root . --operator "$$tmp/olm.yaml" --samples "$$tmp/samples.yaml" \
		--version $(BUNDLE_VERSION) --image $(OPERATOR_IMG) --created-at $(BUNDLE_CREATED_AT) \
		--channels $(BUNDLE_CHANNELS) --default-channel $(BUNDLE_DEFAULT_CHANNEL) \
		--out bundle --dockerfile bundle.Dockerfile

.PHONY: bundle-validate
bundle-validate: kustomize setup-envtest ## Validate the bundle (operatorhub suite) and check it is current.
	go test ./test/manifests -run 'Bundle' -v

.PHONY: bundle-build
bundle-build: ## Build the bundle image.
	$(CONTAINER_TOOL) build -f bundle.Dockerfile -t $(BUNDLE_IMG) .

.PHONY: bundle-push
bundle-push: ## Push the bundle image.
	$(CONTAINER_TOOL) push $(BUNDLE_IMG)

.PHONY: test-conversions
test-conversions: ## Run the v1alpha1 <-> v1beta1 conversion round-trip fuzz tests alone.
	go test ./api/... -run 'Conversion|RoundTrip' -v

# GO_MODULES are the Go modules of this repository: each must be tidy.
GO_MODULES ?= . hack/tools/golangci-lint examples/memory-leak

.PHONY: verify
verify: manifests generate fmt bundle ## Regenerate everything (code, CRDs, RBAC, chart copies, bundle), then fail if anything changed, a module is untidy or a file is untracked.
	@for m in $(GO_MODULES); do \
		go -C "$$m" mod tidy -diff || { echo "go.mod/go.sum of $$m are not tidy: run 'go -C $$m mod tidy' and commit."; exit 1; }; \
	done
	@git diff --exit-code || { \
		echo "Generated files are out of date: run 'make manifests generate fmt bundle' and commit."; exit 1; }
	@untracked="$$(git status --porcelain --untracked-files=all | grep '^??' || true)"; \
	if [ -n "$$untracked" ]; then echo "Untracked files (commit them or add them to .gitignore):"; echo "$$untracked"; exit 1; fi

.PHONY: test-e2e
test-e2e: build setup-envtest-full alertmanager ## End to end: the built manager, a real Alertmanager, a fake GitHub and a fake GitLab, and a local control plane.
	MANAGER_BIN="$(CURDIR)/bin/manager" ALERTMANAGER_BIN="$(ALERTMANAGER)" E2E_KUBECONFIG="$(E2E_KUBECONFIG)" \
		go test -tags=e2e ./test/e2e/ -v -count=1 -timeout 20m -ginkgo.v

.PHONY: lint
lint: golangci-lint ## Run golangci-lint linter
	"$(GOLANGCI_LINT)" run

.PHONY: actionlint
actionlint: actionlint-tool ## Check every GitHub Actions workflow (.github/workflows) with actionlint.
	"$(ACTIONLINT)" -no-color

# govulncheck needs the vulnerability database (vuln.go.dev): run it where there is internet;
# CI's offline runs leave it out.
.PHONY: govulncheck
govulncheck: govulncheck-tool ## Report known vulnerabilities in the code's call graph (needs internet: vuln.go.dev).
	"$(GOVULNCHECK)" ./...
	"$(GOVULNCHECK)" -C hack/tools/golangci-lint ./...

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint linter and perform fixes
	"$(GOLANGCI_LINT)" run --fix

.PHONY: lint-config
lint-config: golangci-lint ## Verify golangci-lint linter configuration
	"$(GOLANGCI_LINT)" config verify

##@ Build

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS ?= -s -w -X main.version=$(VERSION)

.PHONY: build
build: manifests generate fmt vet ## Build manager binary and the kubectl plugin (bin/kubectl-heal8s).
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/manager ./cmd
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/kubectl-heal8s ./cmd/kubectl-heal8s

.PHONY: run
run: manifests generate fmt vet ## Run the manager from your host against ~/.kube/config (webhooks off).
	ENABLE_WEBHOOKS=false go run ./cmd --metrics-secure=false

STRATEGY ?= GitOps
PROVIDER ?= github
LAYOUT ?= plain
.PHONY: demo
demo: build setup-envtest-full alertmanager ## Watch an OOMKill alert become a reviewed pull request and a healed workload (STRATEGY=Direct patches instead; PROVIDER=gitlab a merge request on a fake GitLab; LAYOUT=overlay a kustomize overlay found from Flux, with its rendered-diff proof; DEMO_EXIT=1 for unattended).
	@echo "Building and starting the demo (the first run builds the control plane from source: several minutes)..."
	go run ./hack/demo --root "$(CURDIR)" --manager "$(CURDIR)/bin/manager" --alertmanager "$(ALERTMANAGER)" --strategy "$(STRATEGY)" --provider "$(PROVIDER)" --layout "$(LAYOUT)"

# BENCH_FLAGS shrinks or grows the run, e.g. BENCH_FLAGS="--heal 1000"; see go run ./hack/bench --help.
BENCH_FLAGS ?=
.PHONY: bench
bench: build setup-envtest kustomize ## Measure intake, storms, healing, memory, GitOps, retention and a steady simulated hour against the API server's own rate; prints one table, BENCH_FLAGS="--json FILE" also writes JSON (docs/performance.md).
	go test ./internal/alertmanager/ ./internal/actions/ ./internal/gitprovider/ ./hack/bench/ -run '^$$' -bench . -benchmem -benchtime 3x
	go run ./hack/bench --root "$(CURDIR)" --manager "$(CURDIR)/bin/manager" $(BENCH_FLAGS)

# If you wish to build the manager image targeting other platforms you can use the --platform flag.
# (i.e. docker build --platform linux/arm64). However, you must enable docker buildKit for it.
# More info: https://docs.docker.com/develop/develop-images/build_enhancements/
# The Dockerfile's base images are pinned by digest (Dependabot updates them); to pull them
# through a mirror, configure the mirror in the container runtime.
.PHONY: docker-build
docker-build: ## Build docker image with the manager.
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) -t ${IMG} .

.PHONY: docker-push
docker-push: ## Push docker image with the manager.
	$(CONTAINER_TOOL) push ${IMG}

# PLATFORMS defines the target platforms for the manager image be built to provide support to multiple
# architectures. (i.e. make docker-buildx IMG=myregistry/mypoperator:0.0.1). To use this option you need to:
# - be able to use docker buildx. More info: https://docs.docker.com/build/buildx/
# - have enabled BuildKit. More info: https://docs.docker.com/develop/develop-images/build_enhancements/
# - be able to push the image to your registry (i.e. if you do not set a valid value via IMG=<myregistry/image:<tag>> then the export will fail)
# To adequately provide solutions that are compatible with multiple platforms, you should consider using this option.
PLATFORMS ?= linux/arm64,linux/amd64,linux/s390x,linux/ppc64le
.PHONY: docker-buildx
docker-buildx: ## Build and push docker image for the manager for cross-platform support
	# copy existing Dockerfile and insert --platform=${BUILDPLATFORM} into Dockerfile.cross, and preserve the original Dockerfile
	sed -e '1 s/\(^FROM\)/FROM --platform=\$$\{BUILDPLATFORM\}/; t' -e ' 1,// s//FROM --platform=\$$\{BUILDPLATFORM\}/' Dockerfile > Dockerfile.cross
	- $(CONTAINER_TOOL) buildx create --name heal8s-builder
	$(CONTAINER_TOOL) buildx use heal8s-builder
	- $(CONTAINER_TOOL) buildx build --push --platform=$(PLATFORMS) --build-arg VERSION=$(VERSION) --tag ${IMG} -f Dockerfile.cross .
	- $(CONTAINER_TOOL) buildx rm heal8s-builder
	rm Dockerfile.cross

# DIST is where build-installer and release-artifacts write.
DIST ?= $(CURDIR)/dist

# build-installer renders config/default with IMG through a throwaway overlay in bin/ (kustomize
# wants the base by a relative path), so config/ stays untouched (make deploy edits config/manager; a release must not).
.PHONY: build-installer
build-installer: manifests generate kustomize ## Generate a consolidated YAML with CRDs and deployment ($(DIST)/install.yaml) for IMG.
	@$(MAKE) --no-print-directory installer IMG=$(IMG) DIST="$(DIST)"

# installer is build-installer without regenerating first (release-files runs it).
.PHONY: installer
installer:
	@mkdir -p "$(DIST)"
	@mkdir -p "$(LOCALBIN)"; tmp="$$(mktemp -d "$(LOCALBIN)/installer.XXXXXX")"; trap 'rm -rf "$$tmp"' EXIT; \
	printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../config/default\n' > "$$tmp/kustomization.yaml"; \
	( cd "$$tmp" && "$(KUSTOMIZE)" edit set image controller=$(IMG) ); \
	"$(KUSTOMIZE)" build "$$tmp" > "$(DIST)/install.yaml"
	@echo "Wrote $(DIST)/install.yaml (image $(IMG))"

##@ Release

# A release is a pushed tag vX.Y.Z (.github/workflows/release.yml). Every version comes from
# RELEASE_TAG: the image tag, the binaries' main.version, the chart's version and appVersion, the
# bundle's version, the krew manifest. release-artifacts builds everything but the image.
RELEASE_TAG ?= v$(BUNDLE_VERSION)
RELEASE_VERSION = $(patsubst v%,%,$(RELEASE_TAG))
RELEASE_IMAGE ?= ghcr.io/heal8s/heal8s
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64
PLUGIN_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64

.PHONY: release-artifacts
release-artifacts: manifests generate kustomize helm ## Build a release's files into DIST for RELEASE_TAG: manager binaries, kubectl-heal8s archives and krew manifest, install.yaml, the chart package, the bundle, checksums.
	@$(MAKE) --no-print-directory release-files RELEASE_TAG=$(RELEASE_TAG) RELEASE_IMAGE=$(RELEASE_IMAGE) DIST="$(DIST)"

# release-files is release-artifacts without regenerating first: test/release runs it (inside
# make test, which has regenerated already) with a made-up tag and checks every file.
.PHONY: release-files
release-files:
	@echo "$(RELEASE_TAG)" | grep -Eq '^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$$' || { \
		echo "RELEASE_TAG=$(RELEASE_TAG) is not a vX.Y.Z[-pre] tag"; exit 1; }
	rm -rf "$(DIST)" && mkdir -p "$(DIST)"
	@for p in $(RELEASE_PLATFORMS); do \
		echo "manager $$p"; \
		CGO_ENABLED=0 GOOS="$${p%/*}" GOARCH="$${p#*/}" go build -trimpath -ldflags "-s -w -X main.version=$(RELEASE_TAG)" \
			-o "$(DIST)/manager_$${p%/*}_$${p#*/}" ./cmd; \
	done
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	for p in $(PLUGIN_PLATFORMS); do \
		echo "kubectl-heal8s $$p"; \
		mkdir -p "$$tmp/$$p"; \
		CGO_ENABLED=0 GOOS="$${p%/*}" GOARCH="$${p#*/}" go build -trimpath -ldflags "-s -w -X main.version=$(RELEASE_TAG)" \
			-o "$$tmp/$$p/kubectl-heal8s" ./cmd/kubectl-heal8s; \
		cp LICENSE "$$tmp/$$p/LICENSE"; \
		tar -C "$$tmp/$$p" --owner=0 --group=0 --numeric-owner -czf "$(DIST)/kubectl-heal8s_$${p%/*}_$${p#*/}.tar.gz" kubectl-heal8s LICENSE; \
	done
	@$(MAKE) --no-print-directory installer IMG=$(RELEASE_IMAGE):$(RELEASE_TAG) DIST="$(DIST)"
	"$(HELM)" package charts/heal8s --version $(RELEASE_VERSION) --app-version $(RELEASE_VERSION) --destination "$(DIST)"
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	"$(KUSTOMIZE)" build config/olm > "$$tmp/olm.yaml"; \
	"$(KUSTOMIZE)" build config/samples > "$$tmp/samples.yaml"; \
	go run ./hack/bundle --root . --operator "$$tmp/olm.yaml" --samples "$$tmp/samples.yaml" \
		--version $(RELEASE_VERSION) --image $(RELEASE_IMAGE):$(RELEASE_TAG) \
		--created-at "$$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)" \
		--channels $(BUNDLE_CHANNELS) --default-channel $(BUNDLE_DEFAULT_CHANNEL) \
		--out "$(DIST)/bundle" --dockerfile "$(DIST)/bundle.Dockerfile"
	tar -C "$(DIST)" --owner=0 --group=0 --numeric-owner -czf "$(DIST)/heal8s-bundle-$(RELEASE_TAG).tar.gz" bundle bundle.Dockerfile
	@sed -e '/^[[:space:]]*#/!s|v0\.1\.0|$(RELEASE_TAG)|g' hack/krew/heal8s.yaml > "$(DIST)/heal8s.krew.yaml"; \
	for p in $(PLUGIN_PLATFORMS); do \
		os="$${p%/*}"; arch="$${p#*/}"; \
		sum="$$(sha256sum "$(DIST)/kubectl-heal8s_$${os}_$${arch}.tar.gz" | cut -d' ' -f1)"; \
		key="RELEASE_SHA256_$$(echo "$${os}_$${arch}" | tr a-z A-Z)"; \
		sed -i "s|$$key|$$sum|" "$(DIST)/heal8s.krew.yaml"; \
	done
	@cd "$(DIST)" && sha256sum manager_* kubectl-heal8s_*.tar.gz install.yaml heal8s-*.tgz heal8s-bundle-*.tar.gz heal8s.krew.yaml > checksums.txt
	@echo "Release $(RELEASE_TAG) artifacts in $(DIST):"; ls -1 "$(DIST)"

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kustomize ## Install CRDs into the K8s cluster specified in ~/.kube/config.
	@out="$$( "$(KUSTOMIZE)" build config/crd 2>/dev/null || true )"; \
	if [ -n "$$out" ]; then echo "$$out" | "$(KUBECTL)" apply -f -; else echo "No CRDs to install; skipping."; fi

.PHONY: uninstall
uninstall: manifests kustomize ## Uninstall CRDs from the K8s cluster specified in ~/.kube/config. Call with ignore-not-found=true to ignore resource not found errors during deletion.
	@out="$$( "$(KUSTOMIZE)" build config/crd 2>/dev/null || true )"; \
	if [ -n "$$out" ]; then echo "$$out" | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) -f -; else echo "No CRDs to delete; skipping."; fi

.PHONY: deploy
deploy: manifests kustomize ## Deploy controller to the K8s cluster specified in ~/.kube/config.
	cd config/manager && "$(KUSTOMIZE)" edit set image controller=${IMG}
	"$(KUSTOMIZE)" build config/default | "$(KUBECTL)" apply -f -

.PHONY: deploy-monitoring
deploy-monitoring: kustomize ## Add heal8s's ServiceMonitor and PrometheusRule to a make deploy install (needs the Prometheus Operator's CRDs).
	"$(KUSTOMIZE)" build config/monitoring | "$(KUBECTL)" apply -f -

.PHONY: undeploy-monitoring
undeploy-monitoring: kustomize ## Remove what deploy-monitoring added.
	"$(KUSTOMIZE)" build config/monitoring | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: undeploy
undeploy: kustomize ## Undeploy controller from the K8s cluster specified in ~/.kube/config. Call with ignore-not-found=true to ignore resource not found errors during deletion.
	"$(KUSTOMIZE)" build config/default | "$(KUBECTL)" delete --ignore-not-found=$(ignore-not-found) -f -

##@ Dependencies

## Location to install dependencies to
LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p "$(LOCALBIN)"

## Tool Binaries
KUBECTL ?= kubectl
KUSTOMIZE ?= $(LOCALBIN)/kustomize
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
ENVTEST ?= $(LOCALBIN)/setup-envtest
GOLANGCI_LINT = $(LOCALBIN)/golangci-lint
HELM ?= $(LOCALBIN)/helm
ACTIONLINT ?= $(LOCALBIN)/actionlint
GOVULNCHECK ?= $(LOCALBIN)/govulncheck

## Tool Versions
KUSTOMIZE_VERSION ?= v5.8.1
CONTROLLER_TOOLS_VERSION ?= v0.23.0

# ENVTEST_VERSION is the setup-envtest release. It follows controller-runtime's minor, but
# setup-envtest v0.25.2 was never tagged, so it is pinned.
ENVTEST_VERSION ?= v0.25.1
# ENVTEST_K8S_VERSION is the Kubernetes version of the envtest control plane (kube-apiserver,
# etcd, kubectl); it matches the k8s.io/* modules in go.mod.
ENVTEST_K8S_VERSION ?= 1.37.2
# ENVTEST_ETCD_VERSION is the etcd built from its Go module where the download is unreachable.
ENVTEST_ETCD_VERSION ?= 3.7.3
# ENVTEST_DIR is setup-envtest's own store, so assets survive a clean clone and are shared with
# other projects; the binaries live in $(ENVTEST_DIR)/k8s/<version>-<os>-<arch>.
ENVTEST_DIR ?= $(HOME)/.local/share/kubebuilder-envtest

# GOLANGCI_LINT_VERSION is read from hack/tools/golangci-lint/go.mod (bump it there).
GOLANGCI_LINT_VERSION := $(shell awk '$$1 == "github.com/golangci/golangci-lint/v2" {print $$2}' hack/tools/golangci-lint/go.mod)
HELM_VERSION ?= v3.22.0
ACTIONLINT_VERSION ?= v1.7.12
GOVULNCHECK_VERSION ?= v1.9.0
.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Download kustomize locally if necessary.
$(KUSTOMIZE): $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

.PHONY: helm
helm: $(HELM) ## Build helm locally if necessary (about 1.5 min the first time).
$(HELM): $(LOCALBIN)
	$(call go-install-tool,$(HELM),helm.sh/helm/v3/cmd/helm,$(HELM_VERSION))

.PHONY: actionlint-tool
actionlint-tool: $(ACTIONLINT) ## Build actionlint locally if necessary.
$(ACTIONLINT): $(LOCALBIN)
	$(call go-install-tool,$(ACTIONLINT),github.com/rhysd/actionlint/cmd/actionlint,$(ACTIONLINT_VERSION))

.PHONY: govulncheck-tool
govulncheck-tool: $(GOVULNCHECK) ## Build govulncheck locally if necessary.
$(GOVULNCHECK): $(LOCALBIN)
	$(call go-install-tool,$(GOVULNCHECK),golang.org/x/vuln/cmd/govulncheck,$(GOVULNCHECK_VERSION))

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Download controller-gen locally if necessary.
$(CONTROLLER_GEN): $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: setup-envtest
setup-envtest: envtest ## Provide the envtest binaries: download, or build them from Go modules where offline.
	@"$(CURDIR)/hack/setup-envtest.sh" "$(ENVTEST)" "$(ENVTEST_DIR)" $(ENVTEST_K8S_VERSION) $(ENVTEST_ETCD_VERSION) >/dev/null || { \
		echo "Error: the envtest binaries for Kubernetes $(ENVTEST_K8S_VERSION) are missing and could not be downloaded or built."; \
		echo "       See hack/setup-envtest.sh; the tests need kube-apiserver and etcd."; \
		exit 1; \
	}

.PHONY: setup-envtest-full
setup-envtest-full: envtest ## The envtest binaries plus kube-controller-manager (real ReplicaSets and rollouts for demo and e2e).
	@EXTRA_BINARIES=kube-controller-manager "$(CURDIR)/hack/setup-envtest.sh" "$(ENVTEST)" "$(ENVTEST_DIR)" $(ENVTEST_K8S_VERSION) $(ENVTEST_ETCD_VERSION) >/dev/null || { \
		echo "Error: could not provide the envtest binaries with kube-controller-manager; see hack/setup-envtest.sh."; exit 1; }

ALERTMANAGER ?= $(LOCALBIN)/alertmanager
# ALERTMANAGER_VERSION: newer tags lack their UI assets in the module and do not build.
ALERTMANAGER_VERSION ?= v0.28.1
.PHONY: alertmanager
alertmanager: $(ALERTMANAGER) ## Build Alertmanager from its Go module (demo and e2e send real alerts through it).
$(ALERTMANAGER): $(LOCALBIN)
	$(call go-install-tool,$(ALERTMANAGER),github.com/prometheus/alertmanager/cmd/alertmanager,$(ALERTMANAGER_VERSION))

.PHONY: envtest
envtest: $(ENVTEST) ## Download setup-envtest locally if necessary.
$(ENVTEST): $(LOCALBIN)
	$(call go-install-tool,$(ENVTEST),sigs.k8s.io/controller-runtime/tools/setup-envtest,$(ENVTEST_VERSION))

# golangci-lint is built with the logcheck plugin compiled in from hack/tools/golangci-lint, a
# module of its own that pins both (`golangci-lint custom` would clone GitHub; this needs only the
# Go module proxy). The binary is rebuilt when that module's go.mod or go.sum changes.
GOLANGCI_LINT_MODULE := hack/tools/golangci-lint
.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build golangci-lint with the logcheck plugin locally if necessary (several minutes the first time).
$(GOLANGCI_LINT): $(GOLANGCI_LINT_MODULE)/go.mod $(GOLANGCI_LINT_MODULE)/go.sum $(GOLANGCI_LINT_MODULE)/main.go | $(LOCALBIN)
	@echo "Building golangci-lint $(GOLANGCI_LINT_VERSION) with logcheck from $(GOLANGCI_LINT_MODULE)"
	@rm -f "$(GOLANGCI_LINT)"
	go build -C "$(GOLANGCI_LINT_MODULE)" -trimpath -o "$(GOLANGCI_LINT)-$(GOLANGCI_LINT_VERSION)-logcheck" .
	@ln -sf "$$(realpath "$(GOLANGCI_LINT)-$(GOLANGCI_LINT_VERSION)-logcheck")" "$(GOLANGCI_LINT)"

# go-install-tool will 'go install' any package with custom target and name of binary, if it doesn't exist
# $1 - target path with name of binary
# $2 - package url which can be installed
# $3 - specific version of package
define go-install-tool
@[ -f "$(1)-$(3)" ] && [ "$$(readlink -- "$(1)" 2>/dev/null)" = "$(1)-$(3)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Downloading $${package}" ;\
rm -f "$(1)" ;\
GOBIN="$(LOCALBIN)" go install $${package} ;\
mv "$(LOCALBIN)/$$(basename "$(1)")" "$(1)-$(3)" ;\
} ;\
ln -sf "$$(realpath "$(1)-$(3)")" "$(1)"
endef

define gomodver
$(shell go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' $(1) 2>/dev/null)
endef
