package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/capgen-dev/capgen/plugin/ociruntime"
)

// CacheEnv moves the shim's probe cache, its log and its memo of
// containers.conf, which take no flags of their own: every argument
// belongs to the runtime. It does not move the shim's records of which
// runtime created a container: engines run a container's later commands
// with no environment, and the records must be found then.
const CacheEnv = "CAPGEN_CACHE_DIR"

// CacheDir is the directory of the shim's probe cache and memo:
// $CAPGEN_CACHE_DIR, else [ociruntime.DefaultCacheDir].
func CacheDir() (string, error) {
	if dir := os.Getenv(CacheEnv); dir != "" {
		return dir, nil
	}
	return ociruntime.DefaultCacheDir()
}

// Main is the runtime shim invoked as capgen-NAME from the executable
// self: it does the work of [Run] for args, with runtime names resolved
// through lookup, then execs the real runtime, or runs it as a child when
// the shim has more to do after it. It returns the exit status when it
// does not exec.
func Main(name string, args []string, self string, lookup func(string) []string) int {
	opts := Options{Runtime: name, Self: OwnBinaries(self), Lookup: lookup, Stdout: os.Stdout}
	if dir := os.Getenv(CacheEnv); dir != "" {
		opts.Prober = &ociruntime.Prober{Lookup: lookup, CacheDir: dir}
		opts.LogFile = filepath.Join(dir, "shim.log")
	}
	next, err := Run(context.Background(), args, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s%s: %v\n", Prefix, name, err)
		return 1
	}
	if next == nil {
		return 0
	}
	if next.After != nil {
		return runChild(name, next)
	}
	err = syscall.Exec(next.Path, append([]string{next.Path}, next.Args...), os.Environ())
	fmt.Fprintf(os.Stderr, "%s%s: running %s: %v\n", Prefix, name, next.Path, err)
	return 1
}

// runChild runs the real runtime as a child with the shim's standard
// streams, passes on its exit status, and calls next.After with it.
func runChild(name string, next *Exec) int {
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
		fmt.Fprintf(os.Stderr, "%s%s: running %s: %v\n", Prefix, name, next.Path, err)
		code = 1
	}
	next.After(code)
	return code
}

// OwnBinaries returns self and, when installed beside it, the other of
// capgen and cmd/capshim, either of which capgen-NAME may link to: the
// runtime the shim resolves is never one of them.
func OwnBinaries(self string) []string {
	own := []string{self}
	for _, name := range []string{"capgen", "capshim"} {
		if other := filepath.Join(filepath.Dir(self), name); other != self {
			if _, err := os.Stat(other); err == nil {
				own = append(own, other)
			}
		}
	}
	return own
}
