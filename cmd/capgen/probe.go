package main

import (
	"context"

	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/engine"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	"github.com/spf13/cobra"
)

// probeFunc learns what a runtime accepts.
type probeFunc func(ctx context.Context, runtime string) (*plugin.Features, error)

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

// probeIn is the probe function of proberIn(cacheDir).
func probeIn(cacheDir string) probeFunc { return proberIn(cacheDir).Probe }
