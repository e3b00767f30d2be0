#!/usr/bin/env bash
# Provides the envtest control-plane binaries (etcd, kube-apiserver, kubectl) for a Kubernetes
# version in setup-envtest's store layout: <bin-dir>/k8s/<version>-<os>-<arch>/.
#
# 1. If the binaries are already there at the right version, print the directory and stop.
# 2. Try setup-envtest's normal download (the fast path for users with internet).
# 3. Otherwise build them from their Go modules (kube-apiserver and kubectl from k8s.io/kubernetes,
#    etcd from go.etcd.io/etcd/server/v3) in a scratch module outside the project. Cold, this
#    takes about ten minutes on two cores; with a warm Go build cache, well under one.
#
# Usage: hack/setup-envtest.sh <setup-envtest binary> <bin-dir> <k8s version> <etcd version>
# Prints the asset directory (suitable for KUBEBUILDER_ASSETS) on the last line of stdout.
# Set EXTRA_BINARIES="kube-controller-manager" to also build that binary (make demo uses it).
set -euo pipefail

SETUP_ENVTEST=${1:?setup-envtest binary}
BIN_DIR=${2:?bin dir}
K8S_VERSION=${3:?kubernetes version, e.g. 1.37.2}
ETCD_VERSION=${4:?etcd version, e.g. 3.7.3}
EXTRA_BINARIES=${EXTRA_BINARIES:-}

GOOS=$(go env GOOS)
GOARCH=$(go env GOARCH)
ASSETS="${BIN_DIR}/k8s/${K8S_VERSION}-${GOOS}-${GOARCH}"

log() { printf '[setup-envtest] %s\n' "$*" >&2; }

# The version output is captured before it is searched: with pipefail, `cmd | grep -q` fails at
# random when grep exits early and cmd dies of SIGPIPE.
have() { # have <binary> <expected version substring>
  local out
  [ -x "${ASSETS}/$1" ] || return 1
  out=$("${ASSETS}/$1" --version 2>/dev/null) || return 1
  [[ "${out}" == *"$2"* ]]
}
have_kubectl() {
  local out
  [ -x "${ASSETS}/kubectl" ] || return 1
  out=$("${ASSETS}/kubectl" version --client 2>/dev/null) || return 1
  [[ "${out}" == *"v${K8S_VERSION}"* ]]
}
extras_ok() {
  local b
  for b in ${EXTRA_BINARIES}; do have "$b" "v${K8S_VERSION}" || return 1; done
}
complete() {
  have kube-apiserver "v${K8S_VERSION}" && have etcd "${ETCD_VERSION}" && have_kubectl && extras_ok
}

if complete; then
  echo "${ASSETS}"
  exit 0
fi

mkdir -p "${BIN_DIR}"
if ! have kube-apiserver "v${K8S_VERSION}" && [ -x "${SETUP_ENVTEST}" ]; then
  log "trying setup-envtest's download of ${K8S_VERSION}"
  if timeout 120 "${SETUP_ENVTEST}" use "${K8S_VERSION}" --bin-dir "${BIN_DIR}" -p path >/dev/null 2>&1; then
    ETCD_VERSION=$("${ASSETS}/etcd" --version 2>/dev/null | sed -n 's/^etcd Version: //p')
    if complete; then
      echo "${ASSETS}"
      exit 0
    fi
  else
    log "download unavailable; building from Go modules instead"
  fi
fi

mkdir -p "${ASSETS}"
WORK=${ENVTEST_BUILD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/heal8s/envtest-build}
export GOWORK=off GOFLAGS=-mod=mod
start=$(date +%s)

build_etcd() {
  local dir="${WORK}/etcd-${ETCD_VERSION}"
  mkdir -p "${dir}"
  (
    cd "${dir}"
    [ -f go.mod ] || go mod init heal8s.local/envtest-etcd >/dev/null 2>&1
    cat > tools.go <<GO
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
    go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" >/dev/null
    go mod tidy >/dev/null
    log "building etcd v${ETCD_VERSION}"
    go build -trimpath -o "${ASSETS}/etcd.tmp" go.etcd.io/etcd/server/v3
    mv "${ASSETS}/etcd.tmp" "${ASSETS}/etcd"
  )
}

build_kube() { # build_kube <binary>...
  local dir="${WORK}/kubernetes-${K8S_VERSION}"
  mkdir -p "${dir}"
  (
    cd "${dir}"
    if [ ! -f go.mod ] || ! grep -q "k8s.io/kubernetes v${K8S_VERSION}" go.mod; then
      log "resolving k8s.io/kubernetes v${K8S_VERSION}"
      rm -f go.mod go.sum
      go mod init heal8s.local/envtest-kube >/dev/null 2>&1
      local moddir
      moddir=$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      [ -n "${moddir}" ] || { log "cannot download k8s.io/kubernetes v${K8S_VERSION}"; exit 1; }
      # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local paths;
      # a consumer must pin each to the matching published v0.x tag instead.
      local staging="0.${K8S_VERSION#1.}"
      go mod edit -require "k8s.io/kubernetes@v${K8S_VERSION}"
      local m
      for m in $(awk '/^[[:space:]]*k8s\.io\/[^ ]+ v0\.0\.0$/ {print $1}' "${moddir}/go.mod" | sort -u); do
        go mod edit -replace "${m}=${m}@v${staging}"
      done
    fi
    {
      echo '//go:build tools'
      echo
      echo 'package tools'
      echo
      echo 'import ('
      echo '	_ "k8s.io/kubernetes/cmd/kube-apiserver"'
      echo '	_ "k8s.io/kubernetes/cmd/kubectl"'
      for b in ${EXTRA_BINARIES}; do echo "	_ \"k8s.io/kubernetes/cmd/${b}\""; done
      echo ')'
    } > tools.go
    go mod tidy >/dev/null
    local major=${K8S_VERSION%%.*} rest=${K8S_VERSION#*.}
    local minor=${rest%%.*}
    local ld="-s -w -X k8s.io/component-base/version.gitVersion=v${K8S_VERSION}"
    ld+=" -X k8s.io/component-base/version.gitMajor=${major} -X k8s.io/component-base/version.gitMinor=${minor}"
    ld+=" -X k8s.io/client-go/pkg/version.gitVersion=v${K8S_VERSION}"
    ld+=" -X k8s.io/client-go/pkg/version.gitMajor=${major} -X k8s.io/client-go/pkg/version.gitMinor=${minor}"
    local b
    for b in "$@"; do
      log "building ${b} v${K8S_VERSION}"
      go build -trimpath -ldflags "${ld}" -o "${ASSETS}/${b}.tmp" "k8s.io/kubernetes/cmd/${b}"
      mv "${ASSETS}/${b}.tmp" "${ASSETS}/${b}"
    done
  )
}

have etcd "${ETCD_VERSION}" || build_etcd
want=()
have kube-apiserver "v${K8S_VERSION}" || want+=(kube-apiserver)
have_kubectl || want+=(kubectl)
for b in ${EXTRA_BINARIES}; do have "$b" "v${K8S_VERSION}" || want+=("$b"); done
[ ${#want[@]} -eq 0 ] || build_kube "${want[@]}"

complete || { log "assets in ${ASSETS} are incomplete after the build"; exit 1; }
log "built envtest assets in $(( $(date +%s) - start ))s"
echo "${ASSETS}"
