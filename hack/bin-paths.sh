#!/usr/bin/env bash
# Source this file: it exports the absolute paths of the e2e test bed's upstream binaries, built by
# hack/build-binaries.sh from the versions pinned in hack/versions.env. Layout (outside the repo, so a
# fresh clone reuses them):
#   $GLOBALSVC_CACHE/bin/<component>-<version>/<binary>      (GLOBALSVC_CACHE defaults to ~/.cache/globalsvc)
# Sourcing does not check that the files exist: run hack/build-binaries.sh first.
_gs_hack_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$_gs_hack_dir/versions.env"
export K8S_VERSION ETCD_VERSION KWOK_VERSION COREDNS_VERSION HELM_VERSION LINKERD_VERSION MCS_API_VERSION
export GLOBALSVC_CACHE="${GLOBALSVC_CACHE:-$HOME/.cache/globalsvc}"
export GLOBALSVC_BIN_ROOT="$GLOBALSVC_CACHE/bin"
export KUBERNETES_BIN_DIR="$GLOBALSVC_BIN_ROOT/kubernetes-$K8S_VERSION"
export KUBERNETES_NODE_BIN_DIR="$GLOBALSVC_BIN_ROOT/kubernetes-node-$K8S_VERSION"
export ETCD_BIN_DIR="$GLOBALSVC_BIN_ROOT/etcd-$ETCD_VERSION"
export KWOK_BIN_DIR="$GLOBALSVC_BIN_ROOT/kwok-$KWOK_VERSION"
export COREDNS_BIN_DIR="$GLOBALSVC_BIN_ROOT/coredns-$COREDNS_VERSION"
export HELM_BIN_DIR="$GLOBALSVC_BIN_ROOT/helm-$HELM_VERSION"
export LINKERD_BIN_DIR="$GLOBALSVC_BIN_ROOT/linkerd-$LINKERD_VERSION"
export MCS_CONFORMANCE_BIN_DIR="$GLOBALSVC_BIN_ROOT/mcs-conformance-$MCS_API_VERSION"
export KUBE_APISERVER="$KUBERNETES_BIN_DIR/kube-apiserver"
export KUBE_CONTROLLER_MANAGER="$KUBERNETES_BIN_DIR/kube-controller-manager"
export KUBE_SCHEDULER="$KUBERNETES_BIN_DIR/kube-scheduler"
export KUBECTL="$KUBERNETES_BIN_DIR/kubectl"
export ETCD="$ETCD_BIN_DIR/etcd"
export KWOK="$KWOK_BIN_DIR/kwok"
export KWOKCTL="$KWOK_BIN_DIR/kwokctl"
export COREDNS="$COREDNS_BIN_DIR/coredns"
export HELM="$HELM_BIN_DIR/helm"
export LINKERD_SERVICE_MIRROR="$LINKERD_BIN_DIR/service-mirror"
# sigs.k8s.io/mcs-api's conformance suite: a ginkgo test binary (-kubeconfig, -contexts, -ginkgo.*).
export MCS_CONFORMANCE_BIN="$MCS_CONFORMANCE_BIN_DIR/conformance.test"
unset _gs_hack_dir
