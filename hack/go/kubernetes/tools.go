//go:build tools

// Package tools pins the upstream Kubernetes commands that hack/build-binaries.sh
// builds from this wrapper module: the control plane for every test bed, and the
// node's (kubelet, kubeadm, kube-proxy) for the kind-style node image.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
)
