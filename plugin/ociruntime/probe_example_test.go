package ociruntime_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// An engine keeps one Prober and asks it before building each spec; the
// answer comes from memory or the cache file unless the runtime changed.
func ExampleProber() {
	p := &ociruntime.Prober{Timeout: time.Second}
	f, err := p.Probe(context.Background(), "runc")
	switch {
	case errors.Is(err, ociruntime.ErrRuntimeNotFound):
		fmt.Println("no runc:", err)
	case err != nil:
		fmt.Println(err) // the context ended
	case f.Unknown:
		fmt.Printf("%s: capabilities unknown (%s); numerals: %t\n", f.Runtime, f.Reason, f.Numerals)
	default:
		fmt.Printf("%s (%s) recognises %d capabilities\n", f.Runtime, f.Version, len(f.Names))
	}
}

// Probe uses one process-wide Prober with the default settings; its answer
// tells Apply what the runtime accepts.
func ExampleProbe() {
	features, err := ociruntime.Probe(context.Background(), "crun")
	if err != nil {
		fmt.Println(err)
		return
	}
	spec := &specs.Spec{}
	report, err := plugin.Apply(spec, plugin.Request{Adds: []string{"all"}, Runtime: features})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(report.Policy, spec.Process.Capabilities.Bounding)
}
