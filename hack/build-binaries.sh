#!/usr/bin/env bash
# Builds the e2e test bed's upstream binaries from Go modules, pinned in hack/versions.env, each from
# its wrapper module in hack/go/<component>/ (go.mod + go.sum fix every dependency). Two upstream
# modules are not on the Go module proxy: they come from source archives in ../shared/vendor beside
# the repository (override the folder with GLOBALSVC_VENDOR_DIR), each checked against its sha256 in
# versions.env and extracted into a git-ignored folder; all their dependencies come from the proxy.
#   - Linkerd (LINKERD_ARCHIVE_SHA256): extracted into hack/go/linkerd/linkerd2, which
#     hack/go/linkerd/go.mod replaces github.com/linkerd/linkerd2 with.
#   - sigs.k8s.io/mcs-api's conformance suite (MCS_API_ARCHIVE_SHA256): extracted into
#     hack/go/mcs-conformance/mcs-api, and compiled (`go test -c`) from the archive's own
#     conformance/ module (no wrapper: its go.mod + go.sum, with `replace sigs.k8s.io/mcs-api => ..`,
#     fix every dependency, and -mod=readonly keeps them as they are).
#
# Layout (outside the repository, so a fresh clone or another worktree reuses the binaries):
#   $GLOBALSVC_CACHE/bin/kubernetes-$K8S_VERSION/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl}
#   $GLOBALSVC_CACHE/bin/kubernetes-node-$K8S_VERSION/{kubelet,kubeadm,kube-proxy}   (only on request: the
#     kind-style node image's, hack/kind/build-images.sh)
#   $GLOBALSVC_CACHE/bin/etcd-$ETCD_VERSION/etcd
#   $GLOBALSVC_CACHE/bin/kwok-$KWOK_VERSION/{kwok,kwokctl}
#   $GLOBALSVC_CACHE/bin/coredns-$COREDNS_VERSION/coredns
#   $GLOBALSVC_CACHE/bin/helm-$HELM_VERSION/helm
#   $GLOBALSVC_CACHE/bin/linkerd-$LINKERD_VERSION/service-mirror
#   $GLOBALSVC_CACHE/bin/mcs-conformance-$MCS_API_VERSION/conformance.test   (the ginkgo suite, a test binary)
# GLOBALSVC_CACHE defaults to ~/.cache/globalsvc. hack/bin-paths.sh exports these paths.
#
# Usage: hack/build-binaries.sh [kubernetes|etcd|kwok|coredns|helm|linkerd|mcs-conformance|kubernetes-node]...
#   (default: all of them but kubernetes-node, in that order)
# Idempotent: a component whose folder already holds all its binaries is skipped. A component is built
# into a temporary folder beside its final one and renamed into place, so a killed build leaves nothing
# half-done behind. Components build one after another with `go build -p 2` (`go test -c -p 2` for the
# conformance suite; 2 cores; the Kubernetes build alone peaks at a few GiB).
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bin-paths.sh
. "$HACK/bin-paths.sh"

export CGO_ENABLED="${CGO_ENABLED:-0}"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
GO_BUILD=(go build -p 2 -trimpath)
GO_TEST_C=(go test -c -p 2 -trimpath)

ALL=(kubernetes etcd kwok coredns helm linkerd mcs-conformance kubernetes-node)
DEFAULT=(kubernetes etcd kwok coredns helm linkerd mcs-conformance)
if [ $# -gt 0 ]; then COMPONENTS=("$@"); else COMPONENTS=("${DEFAULT[@]}"); fi

log() { echo "[build-binaries $(date +%H:%M:%S)] $*"; }

# check_pin <module dir> <module path> <version>: the wrapper's go.mod must require what versions.env says.
check_pin() {
  local have
  have="$(cd "$HACK/go/$1" && go list -m -f '{{.Version}}' "$2")"
  if [ "$have" != "$3" ]; then
    echo "hack/go/$1/go.mod requires $2 $have but hack/versions.env says $3" >&2
    exit 1
  fi
}

# build_component <name> <final dir> <binaries...> -- <build function>
build_component() {
  local name="$1" dir="$2"; shift 2
  local bins=()
  while [ "$1" != "--" ]; do bins+=("$1"); shift; done
  shift
  local fn="$1" missing=0 b
  for b in "${bins[@]}"; do [ -x "$dir/$b" ] || missing=1; done
  if [ "$missing" = 0 ]; then
    log "$name: up to date in $dir"
    return
  fi
  mkdir -p "$GLOBALSVC_BIN_ROOT"
  local tmp start
  tmp="$(mktemp -d "$GLOBALSVC_BIN_ROOT/.tmp-$(basename "$dir").XXXXXX")"
  chmod 755 "$tmp"
  start=$(date +%s)
  log "$name: building ${bins[*]} into $dir"
  if ! "$fn" "$tmp"; then
    rm -rf "$tmp"
    log "$name: FAILED after $(( $(date +%s) - start ))s"
    exit 1
  fi
  for b in "${bins[@]}"; do
    [ -x "$tmp/$b" ] || { echo "$name: build did not produce $b" >&2; rm -rf "$tmp"; exit 1; }
  done
  rm -rf "$dir"
  mv -T "$tmp" "$dir"
  log "$name: done in $(( $(date +%s) - start ))s"
}

# build_kubernetes <dir> <command>...: Kubernetes' commands, with the version ldflags of its Makefile.
build_kubernetes() {
  check_pin kubernetes k8s.io/kubernetes "v$K8S_VERSION"
  local out="$1"; shift
  local minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  local pkg=k8s.io/component-base/version cmd pkgs=()
  for cmd in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  (cd "$HACK/go/kubernetes" && "${GO_BUILD[@]}" -o "$out/" \
    -ldflags "-s -w -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z" \
    "${pkgs[@]}")
}
build_control_plane() { build_kubernetes "$1" kube-apiserver kube-controller-manager kube-scheduler kubectl; }
build_node() { build_kubernetes "$1" kubelet kubeadm kube-proxy; }

build_etcd() {
  check_pin etcd go.etcd.io/etcd/server/v3 "v$ETCD_VERSION"
  # go.etcd.io/etcd/server/v3 is etcd's own main package (it calls etcdmain.Main(os.Args)).
  (cd "$HACK/go/etcd" && "${GO_BUILD[@]}" -o "$1/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3)
}

build_kwok() {
  check_pin kwok sigs.k8s.io/kwok "v$KWOK_VERSION"
  # consts.KubeVersion is kwokctl's default --kube-version; make it the Kubernetes we build.
  local pkg=sigs.k8s.io/kwok/pkg/consts
  (cd "$HACK/go/kwok" && "${GO_BUILD[@]}" -o "$1/" \
    -ldflags "-s -w -X $pkg.Version=$KWOK_VERSION -X $pkg.KubeVersion=$K8S_VERSION" \
    sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl)
}

build_coredns() {
  check_pin coredns github.com/coredns/coredns "v$COREDNS_VERSION"
  (cd "$HACK/go/coredns" && "${GO_BUILD[@]}" -o "$1/coredns" -ldflags "-s -w" github.com/coredns/coredns)
}

build_helm() {
  check_pin helm helm.sh/helm/v3 "v$HELM_VERSION"
  # The ldflags of helm's Makefile: its version, and the Kubernetes version `helm template` assumes by
  # default (chartutil, lint rules): client-go v0.N's Kubernetes, 1.N, as upstream derives it.
  local client_go major minor
  client_go="$(cd "$HACK/go/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)"
  minor="${client_go#v0.}"; minor="${minor%%.*}"; major=1
  local v=helm.sh/helm/v3/internal/version chartutil=helm.sh/helm/v3/pkg/chartutil rules=helm.sh/helm/v3/pkg/lint/rules
  (cd "$HACK/go/helm" && "${GO_BUILD[@]}" -o "$1/helm" \
    -ldflags "-s -w -X $v.version=v$HELM_VERSION -X $v.gitTreeState=clean -X $chartutil.k8sVersionMajor=$major -X $chartutil.k8sVersionMinor=$minor -X $rules.k8sVersionMajor=$major -X $rules.k8sVersionMinor=$minor" \
    helm.sh/helm/v3/cmd/helm)
}

# The source archives (see LINKERD_* and MCS_API_* in versions.env and ../shared/vendor/README.md).
VENDOR_DIR="$(realpath -m "${GLOBALSVC_VENDOR_DIR:-$HACK/../../shared/vendor}")"

# extract_archive <component> <VAR prefix> <dest> <module path>: checks the archive $<prefix>_ARCHIVE's
# sha256 against $<prefix>_ARCHIVE_SHA256, then extracts it afresh into <dest> (the archive's one
# top-level folder stripped, so <dest> is <module path>'s module root). Explicit `|| return 1`s: build
# functions run under `if`, where set -e does not apply.
extract_archive() {
  local name="$1" var="$2" dest="$3" module="$4"
  local archive_var="${var}_ARCHIVE" sha_var="${var}_ARCHIVE_SHA256" commit_var="${var}_COMMIT"
  local file="${!archive_var}" want="${!sha_var}" commit="${!commit_var}"
  local archive="$VENDOR_DIR/$file" have
  if [ ! -f "$archive" ]; then
    echo "$name: source archive $archive not found. build-binaries.sh expects ../shared/vendor beside" >&2
    echo "  the repository (holding $file), or GLOBALSVC_VENDOR_DIR=<folder holding it>." >&2
    return 1
  fi
  have="$(sha256sum "$archive" | cut -d' ' -f1)"
  if [ "$have" != "$want" ]; then
    echo "$name: sha256 mismatch for $archive:" >&2
    echo "  archive has             $have" >&2
    echo "  hack/versions.env wants $want ($sha_var)" >&2
    return 1
  fi
  rm -rf "$dest" "$dest.tmp" && mkdir -p "$dest.tmp" || return 1
  if ! tar -xzf "$archive" -C "$dest.tmp" --strip-components=1 --no-same-owner ||
    ! grep -qx "module $module" "$dest.tmp/go.mod" 2>/dev/null; then
    echo "$name: $archive did not unpack into $module's module root" >&2
    rm -rf "$dest.tmp"
    return 1
  fi
  mv -T "$dest.tmp" "$dest" || return 1
  log "$name: extracted $file (sha256 ok, commit $commit) into $dest"
}

build_linkerd() {
  # No check_pin here: go.mod's require of github.com/linkerd/linkerd2 is a placeholder pseudo-version
  # under `replace => ./linkerd2`, so what is built is fixed by the archive's sha256 instead.
  extract_archive linkerd LINKERD "$HACK/go/linkerd/linkerd2" github.com/linkerd/linkerd2 || return 1
  # hack/go/linkerd is a main package calling multicluster/cmd/service-mirror's Main(args).
  (cd "$HACK/go/linkerd" && "${GO_BUILD[@]}" -o "$1/service-mirror" -ldflags "-s -w" .)
}

build_mcs_conformance() {
  # No check_pin (no wrapper module): the archive's sha256 fixes the suite, and its conformance/go.mod
  # and go.sum fix every dependency; -mod=readonly (after GOFLAGS' -mod=mod, so it wins) fails the
  # build rather than resolve anything they do not already say.
  extract_archive mcs-conformance MCS_API "$HACK/go/mcs-conformance/mcs-api" sigs.k8s.io/mcs-api || return 1
  # The specs and their flags (-kubeconfig, -contexts, ...) are in package conformance; its external
  # test package runs them (RunSpecs). The binary takes go test's and ginkgo's flags (-ginkgo.*).
  (cd "$HACK/go/mcs-conformance/mcs-api/conformance" &&
    "${GO_TEST_C[@]}" -mod=readonly -o "$1/conformance.test" -ldflags "-s -w" .)
}

total_start=$(date +%s)
# One build at a time per cache: a second caller (a benchmark or a test run started while the first
# builds) waits for the first, then finds what it built up to date, instead of building it again
# beside it on the same two cores. The lock is released when this script exits, however it exits.
mkdir -p "$GLOBALSVC_BIN_ROOT"
exec 9> "$GLOBALSVC_BIN_ROOT/.lock"
if ! flock -n 9; then
  log "waiting for another build-binaries to finish with $GLOBALSVC_BIN_ROOT"
  flock 9
  log "the other build-binaries finished after $(( $(date +%s) - total_start ))s"
fi
log "go: $(go version); GLOBALSVC_BIN_ROOT=$GLOBALSVC_BIN_ROOT; components: ${COMPONENTS[*]}"
for c in "${COMPONENTS[@]}"; do
  case "$c" in
    kubernetes) build_component kubernetes "$KUBERNETES_BIN_DIR" kube-apiserver kube-controller-manager kube-scheduler kubectl -- build_control_plane ;;
    kubernetes-node) build_component kubernetes-node "$KUBERNETES_NODE_BIN_DIR" kubelet kubeadm kube-proxy -- build_node ;;
    etcd)       build_component etcd "$ETCD_BIN_DIR" etcd -- build_etcd ;;
    kwok)       build_component kwok "$KWOK_BIN_DIR" kwok kwokctl -- build_kwok ;;
    coredns)    build_component coredns "$COREDNS_BIN_DIR" coredns -- build_coredns ;;
    helm)       build_component helm "$HELM_BIN_DIR" helm -- build_helm ;;
    linkerd)    build_component linkerd "$LINKERD_BIN_DIR" service-mirror -- build_linkerd ;;
    mcs-conformance) build_component mcs-conformance "$MCS_CONFORMANCE_BIN_DIR" conformance.test -- build_mcs_conformance ;;
    *) echo "unknown component '$c' (known: ${ALL[*]})" >&2; exit 2 ;;
  esac
done
log "all done in $(( $(date +%s) - total_start ))s"
for c in "${COMPONENTS[@]}"; do
  case "$c" in
    kubernetes) echo "KUBE_APISERVER=$KUBE_APISERVER"; echo "KUBE_CONTROLLER_MANAGER=$KUBE_CONTROLLER_MANAGER"; echo "KUBE_SCHEDULER=$KUBE_SCHEDULER"; echo "KUBECTL=$KUBECTL" ;;
    etcd) echo "ETCD=$ETCD" ;;
    kwok) echo "KWOK=$KWOK"; echo "KWOKCTL=$KWOKCTL" ;;
    coredns) echo "COREDNS=$COREDNS" ;;
    helm) echo "HELM=$HELM" ;;
    linkerd) echo "LINKERD_SERVICE_MIRROR=$LINKERD_SERVICE_MIRROR" ;;
    mcs-conformance) echo "MCS_CONFORMANCE_BIN=$MCS_CONFORMANCE_BIN" ;;
    kubernetes-node) echo "KUBERNETES_NODE_BIN_DIR=$KUBERNETES_NODE_BIN_DIR" ;;
  esac
done
