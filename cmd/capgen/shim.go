package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/capgen-dev/capgen/internal/shim"
	"github.com/capgen-dev/capgen/plugin/engine"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
)

// shimCacheEnv moves the shim's probe cache and its log, which take no
// flags of their own: every argument belongs to the runtime. It does not
// move the shim's records of which runtime created a container: engines
// run a container's later commands with no environment, and the records
// must be found then.
const shimCacheEnv = "CAPGEN_CACHE_DIR"

// isShim reports whether capgen invoked as capgen-NAME with args is the
// runtime shim for NAME: always, unless args are one of capgen's own
// commands or flags (--help, --version, version, completion, ...) and NAME
// resolves to no runtime, as for a release binary named
// capgen-linux-amd64. Runtime commands that share a name with capgen's
// ("list", "--version", "help") stay the runtime's whenever it exists.
func isShim(name string, args []string) bool {
	if len(args) == 0 || !isCLIArg(args[0]) {
		return true
	}
	self, err := os.Executable()
	if err != nil {
		return true
	}
	_, err = ociruntime.Find(engine.Lookup(nil), name, ownBinaries(self)...)
	return !errors.Is(err, ociruntime.ErrRuntimeNotFound)
}

// isCLIArg reports whether arg, the first argument, is one of capgen's
// commands or top-level flags.
func isCLIArg(arg string) bool {
	switch arg {
	case "--help", "-h", "--version", "-v", "help", "completion":
		return true
	}
	for _, sub := range subcommands {
		if sub().Name() == arg {
			return true
		}
	}
	return false
}

// runShim is capgen invoked as capgen-NAME: the OCI runtime NAME, with the
// capabilities of create and run made applicable (shim.Run). It
// execs the real runtime and returns only when it cannot.
func runShim(name string, args []string) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s%s: %v\n", shim.Prefix, name, err)
		return 1
	}
	opts := shim.Options{Runtime: name, Self: ownBinaries(self), Stdout: os.Stdout}
	if dir := os.Getenv(shimCacheEnv); dir != "" {
		opts.Prober = prober(dir)
		opts.LogFile = filepath.Join(dir, "shim.log")
	}
	next, err := shim.Run(context.Background(), args, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s%s: %v\n", shim.Prefix, name, err)
		return 1
	}
	if next == nil {
		return 0
	}
	if next.After != nil {
		return runChild(name, next)
	}
	err = syscall.Exec(next.Path, append([]string{next.Path}, next.Args...), os.Environ())
	fmt.Fprintf(os.Stderr, "%s%s: running %s: %v\n", shim.Prefix, name, next.Path, err)
	return 1
}

// runChild runs the real runtime as a child with the shim's standard
// streams, passes on its exit status, and calls next.After with it.
func runChild(name string, next *shim.Exec) int {
	cmd := exec.Command(next.Path, next.Args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
		if code < 0 {
			code = 128 + int(exit.Sys().(syscall.WaitStatus).Signal())
		}
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s%s: running %s: %v\n", shim.Prefix, name, next.Path, err)
		code = 1
	}
	next.After(code)
	return code
}

// ownBinaries returns self and, when it is installed beside self, the
// cmd/capshim binary that passes the shim's command lines to capgen: the
// runtime the shim resolves is never either.
func ownBinaries(self string) []string {
	own := []string{self}
	if capshim := filepath.Join(filepath.Dir(self), "capshim"); capshim != self {
		if _, err := os.Stat(capshim); err == nil {
			own = append(own, capshim)
		}
	}
	return own
}
