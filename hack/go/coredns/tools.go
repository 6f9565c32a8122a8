//go:build tools

// Package tools pins the CoreDNS command that hack/build-binaries.sh builds.
package tools

import (
	_ "github.com/coredns/coredns"
)
