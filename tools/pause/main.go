// The test node's sandbox ("pause") image: no registry is reachable here to pull one.
// It holds a pod's namespaces by waiting until it is told to stop.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
