//go:build tools

// Package tools pins the node's binaries (kubelet, kube-controller-manager,
// kube-scheduler) to the API server's version: scripts/kube-assets.sh builds them.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
