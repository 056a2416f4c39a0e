// Command benchfloor is the floor hack/bench-processes.sh measures capgen
// against: the least a runtime shim written in Go can cost. With no
// arguments it exits at once (the Go runtime's start and exit); with
// arguments it execs the first, an absolute path, with the rest, as a
// shim passing a command through does.
package main

import (
	"os"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		return
	}
	err := syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
	os.Stderr.WriteString("benchfloor: " + err.Error() + "\n")
	os.Exit(127)
}
