package main

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"github.com/capgen-dev/capgen/plugin/shim"
)

// shimCacheEnv moves the shim's probe cache, which takes no flags of its
// own: every argument belongs to the runtime.
const shimCacheEnv = "CAPGEN_CACHE_DIR"

// runShim is capgen invoked as capgen-NAME: the OCI runtime NAME, with the
// capabilities of create and run made applicable (shim.Run). It
// execs the real runtime and returns only when it cannot.
func runShim(name string, args []string) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s%s: %v\n", shim.Prefix, name, err)
		return 1
	}
	next, err := shim.Run(context.Background(), args, shim.Options{
		Runtime: name,
		Self:    self,
		Prober:  prober(os.Getenv(shimCacheEnv)),
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s%s: %v\n", shim.Prefix, name, err)
		return 1
	}
	if next == nil {
		return 0
	}
	err = syscall.Exec(next.Path, append([]string{next.Path}, next.Args...), os.Environ())
	fmt.Fprintf(os.Stderr, "%s%s: running %s: %v\n", shim.Prefix, name, next.Path, err)
	return 1
}
