// Command etcd is the etcd server of the version the pinned Kubernetes release
// uses, built from its Go module so the test cluster needs no release download.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
