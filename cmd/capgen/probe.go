package main

import (
	"context"
	"strings"

	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/engine"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	"github.com/spf13/cobra"
)

// probeFunc learns what a runtime accepts.
type probeFunc func(ctx context.Context, runtime string) (*plugin.Features, error)

// addRuntimeFlagFlag adds --runtime-flag, a global option the engine runs
// the runtime with, as Podman's --runtime-flag takes it ("network=none" for
// --network=none; the dashes may be given too), to cmd, storing them in
// flags.
func addRuntimeFlagFlag(cmd *cobra.Command, flags *[]string) {
	cmd.Flags().StringArrayVar(flags, "runtime-flag", nil,
		"global `OPTION` the engine runs the runtime with, as NAME or NAME=VALUE (repeatable; runsc: network=none)")
}

// runtimeGlobals returns the --runtime-flag values as "--NAME[=VALUE]".
func runtimeGlobals(flags []string) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		out = append(out, "--"+strings.TrimLeft(f, "-"))
	}
	return out
}

// addCacheDirFlag adds --cache-dir, the directory of the runtime-probe
// cache, to cmd, storing it in dir.
func addCacheDirFlag(cmd *cobra.Command, dir *string) {
	cmd.Flags().StringVar(dir, "cache-dir", "",
		"`DIR` of the runtime-probe cache (default /run/containers/capgen, rootless $XDG_RUNTIME_DIR/containers/capgen)")
}

// prober is the Prober that keeps its cache in cacheDir, resolving names
// through containers.conf: nil for "", which the hook and the shim take as
// engine.Prober().
func prober(cacheDir string) *ociruntime.Prober {
	if cacheDir == "" {
		return nil
	}
	return &ociruntime.Prober{CacheDir: cacheDir, Lookup: engine.Lookup(nil)}
}

// proberIn is prober(cacheDir), or without a cache directory the
// process-wide engine.Prober().
func proberIn(cacheDir string) *ociruntime.Prober {
	if p := prober(cacheDir); p != nil {
		return p
	}
	return engine.Prober()
}

// probeIn is the probe function of proberIn(cacheDir), for the runtime run
// with the global options of runtimeFlags (--runtime-flag values).
func probeIn(cacheDir string, runtimeFlags []string) probeFunc {
	p := proberIn(cacheDir)
	globals := runtimeGlobals(runtimeFlags)
	return func(ctx context.Context, runtime string) (*plugin.Features, error) {
		return p.ProbeWith(ctx, p.Lookup, runtime, globals)
	}
}
