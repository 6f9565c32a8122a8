//go:build tools

// Package tools pins the etcd server command that hack/build-binaries.sh builds
// (package go.etcd.io/etcd/server/v3 is etcd's own main package).
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
