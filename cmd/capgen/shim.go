package main

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"github.com/capgen-dev/capgen/plugin"
)

// shimCacheEnv moves the shim's probe cache, which takes no flags of its
// own: every argument belongs to the runtime.
const shimCacheEnv = "CAPGEN_CACHE_DIR"

// runShim is capgen invoked as capgen-NAME: the OCI runtime NAME, with the
// capabilities of create and run made applicable (plugin.RunShim). It
// execs the real runtime and returns only when it cannot.
func runShim(name string, args []string) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s%s: %v\n", plugin.ShimPrefix, name, err)
		return 1
	}
	next, err := plugin.RunShim(context.Background(), args, plugin.ShimOptions{
		Runtime: name,
		Self:    self,
		Prober:  prober(os.Getenv(shimCacheEnv)),
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s%s: %v\n", plugin.ShimPrefix, name, err)
		return 1
	}
	if next == nil {
		return 0
	}
	err = syscall.Exec(next.Path, append([]string{next.Path}, next.Args...), os.Environ())
	fmt.Fprintf(os.Stderr, "%s%s: running %s: %v\n", plugin.ShimPrefix, name, next.Path, err)
	return 1
}
