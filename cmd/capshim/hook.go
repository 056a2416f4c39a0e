package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/capgen-dev/capgen/internal/ocihook"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
)

// hookFlags are the options of "capgen hook" that capshim reads.
type hookFlags struct {
	runtime, policy, cacheDir, input string
	widenPrivileged                  bool
}

// parseHook reads args, what followed "hook", as capgen hook would, and
// reports whether capshim can run the hook itself: only the options of
// capgen hook, each spelt with two dashes, no arguments, and the runtime
// named by its path, which needs no containers.conf to resolve. Anything
// else is capgen's to answer, errors included.
func parseHook(args []string) (hookFlags, bool) {
	for _, a := range args {
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") || a == "--" {
			return hookFlags{}, false
		}
	}
	var f hookFlags
	fs := flag.NewFlagSet("hook", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.runtime, "runtime", "", "")
	fs.StringVar(&f.policy, "policy", plugin.Auto.String(), "")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "")
	fs.StringVar(&f.input, "input", "", "")
	fs.BoolVar(&f.widenPrivileged, "widen-privileged", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || !filepath.IsAbs(f.runtime) {
		return hookFlags{}, false
	}
	return f, true
}

// runHook is capgen hook with f: it rewrites the config.json on stdin (or
// in --input) onto stdout, and returns the exit status.
func runHook(f hookFlags) int {
	if err := hook(f); err != nil {
		fmt.Fprintln(os.Stderr, "capgen:", err)
		return 1
	}
	return 0
}

func hook(f hookFlags) error {
	p, err := plugin.ParsePolicy(f.policy)
	if err != nil {
		return err
	}
	in := io.Reader(os.Stdin)
	if f.input != "" {
		file, err := os.Open(f.input)
		if err != nil {
			return fmt.Errorf("--input: %w", err)
		}
		defer file.Close()
		in = file
	}
	return ocihook.Run(context.Background(), in, os.Stdout, os.Stderr, ocihook.Options{
		Runtime: f.runtime, Policy: p, TrustPrivileged: f.widenPrivileged,
		Prober: &ociruntime.Prober{CacheDir: f.cacheDir},
	})
}
