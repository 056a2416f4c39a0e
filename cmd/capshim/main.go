// Command capshim is the fast entry point of capgen's runtime shim and
// precreate hook: a small program without containers/common or the CLI,
// which starts in about the time of any Go program. Install it in the
// directory of capgen, and link capgen-NAME to it, as to capgen:
//
//	ln -s capshim /usr/local/bin/capgen-runc
//
// For a command on a container the shim created and recorded (state,
// start, kill, pause, resume, ps, events, update), it execs the recorded
// runtime at once, with nothing loaded but that record: these are the
// commands engines run most often, and polling "state" dominates.
//
// As "capshim hook --runtime PATH [--policy P] [--widen-privileged]
// [--cache-dir DIR] [--input FILE]" it is capgen hook, for a runtime named
// by its path. Every other command line it hands, unchanged and under the
// same name, to the capgen beside it (see internal/shim.Run and capgen
// hook), which also names runtimes through containers.conf.
package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/capgen-dev/capgen/internal/shim"
	"github.com/capgen-dev/capgen/internal/shim/confmemo"
	"github.com/capgen-dev/capgen/internal/shim/record"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
)

func main() {
	ociruntime.ServeReport()
	args := os.Args[1:]
	if name, ok := strings.CutPrefix(filepath.Base(os.Args[0]), record.Prefix); ok && name != "" {
		if cl, err := record.Parse(name, args); err == nil && record.PassesThrough(cl.Command) {
			if real, ok := cl.Lookup(cl.Dir("")); ok {
				execOrExit(real, append([]string{real}, args...))
			}
		}
	}
	self, err := os.Executable()
	if err != nil {
		fail(err.Error())
	}
	capgen := filepath.Join(filepath.Dir(self), "capgen")
	if name, ok := strings.CutPrefix(filepath.Base(os.Args[0]), record.Prefix); ok && name != "" {
		if lookup, ok := memoisedLookup(capgen); ok {
			// As capgen decides: the shim whenever NAME is a runtime.
			if _, err := ociruntime.Find(lookup, name, shim.OwnBinaries(self)...); err == nil {
				os.Exit(shim.Main(name, args, self, lookup))
			}
		}
	}
	if len(args) > 0 && args[0] == "hook" {
		if f, ok := parseHook(args[1:]); ok {
			os.Exit(runHook(f))
		}
	}
	execOrExit(capgen, os.Args)
}

// memoisedLookup returns the lookup of containers.conf's engine.runtimes
// table that capgen, the binary at path, memoised (confmemo), if the memo
// is still valid.
func memoisedLookup(capgen string) (func(string) []string, bool) {
	dir, err := shim.CacheDir()
	if err != nil {
		return nil, false
	}
	table, ok := confmemo.Load(dir, capgen)
	if !ok {
		return nil, false
	}
	return func(name string) []string { return table[name] }, true
}

// execOrExit replaces the process with path run with argv, or exits with
// status 1 saying why it could not.
func execOrExit(path string, argv []string) {
	err := syscall.Exec(path, argv, os.Environ())
	fail("running " + path + ": " + err.Error())
}

func fail(msg string) {
	os.Stderr.WriteString(filepath.Base(os.Args[0]) + ": " + msg + "\n")
	os.Exit(1)
}
