package main

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/capgen-dev/capgen/internal/containersconf"
	"github.com/capgen-dev/capgen/internal/shim"
	"github.com/capgen-dev/capgen/internal/shim/confmemo"
	"github.com/capgen-dev/capgen/plugin/engine"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	"go.podman.io/common/pkg/config"
)

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
	_, err = ociruntime.Find(engine.Lookup(nil), name, shim.OwnBinaries(self)...)
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
// capabilities of create and run made applicable (shim.Main), runtime
// names resolved through containers.conf, whose engine.runtimes table it
// memoises for cmd/capshim. It execs the real runtime and returns only
// when it cannot.
func runShim(name string, args []string) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s%s: %v\n", shim.Prefix, name, err)
		return 1
	}
	return shim.Main(name, args, self, memoisedLookup(self))
}

// memoisedLookup returns the engine.runtimes lookup of containers.conf as
// go.podman.io/common loads it, loaded at the first lookup, and then
// writes the memo of its table that cmd/capshim resolves names with
// (confmemo), unless a valid one is there. The files' identities are
// taken before the load, so a file that changes during it makes the memo
// a miss, never a stale hit.
func memoisedLookup(self string) func(string) []string {
	load := sync.OnceValue(func() map[string][]string {
		dir, derr := shim.CacheDir()
		sources, serr := containersconf.Find()
		var snap confmemo.Snapshot
		var err error
		if derr == nil && serr == nil {
			snap, err = confmemo.Take(self, sources.Inputs())
		}
		cfg, cerr := config.Default()
		if cerr != nil {
			return nil // names are looked up in $PATH alone
		}
		if derr == nil && serr == nil && err == nil {
			if _, ok := confmemo.Load(dir, self); !ok {
				snap.Write(dir, cfg.Engine.OCIRuntimes)
			}
		}
		return cfg.Engine.OCIRuntimes
	})
	return func(name string) []string { return load()[name] }
}
