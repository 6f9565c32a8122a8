// Command service-mirror runs Linkerd's multicluster service mirror (one process per Link) outside a
// cluster, for the e2e test bed: service-mirror -kubeconfig=<source> -namespace=linkerd-multicluster
// [-enable-headless-services] -metrics-addr=127.0.0.1:<port> <linkName>, with HOSTNAME set.
package main

import (
	"os"

	servicemirror "github.com/linkerd/linkerd2/multicluster/cmd/service-mirror"
)

func main() {
	servicemirror.Main(os.Args[1:])
}
