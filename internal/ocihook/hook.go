// Package ocihook is capgen's precreate hook for an unmodified Podman
// (go.podman.io/common/pkg/hooks/exec.RuntimeConfigFilter's contract: a
// runtime spec on stdin, the rewritten spec on stdout). It rewrites
// process.capabilities with [plugin.RewriteCapabilities] for the runtime
// the container runs with, as containers.conf names it.
package ocihook

import (
	"context"
	"fmt"
	"io"

	"github.com/capgen-dev/capgen/internal/capsplice"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Options configures [Run].
type Options struct {
	// Runtime is the OCI runtime's name (resolved by Prober's Lookup, then
	// $PATH) or path; "" is DefaultRuntime's answer.
	Runtime string
	// DefaultRuntime names the runtime when Runtime is "": capgen hook
	// passes plugin/engine.DefaultRuntime, containers.conf's
	// engine.runtime. With neither, the hook fails.
	DefaultRuntime func() (string, error)
	// Policy is the form of the entries written for the runtime.
	Policy plugin.Policy
	// TrustPrivileged is [plugin.Target.TrustPrivileged].
	TrustPrivileged bool
	// MaxInput is the largest input accepted; 0 is [plugin.MaxSpecSize].
	MaxInput int64
	// Prober probes the runtime; nil is one with the default cache
	// directory and no Lookup, which finds names in $PATH only. capgen
	// hook passes one whose Lookup is plugin/engine.Lookup
	// (containers.conf's engine.runtimes).
	Prober *ociruntime.Prober
}

// Run is the precreate hook of an engine that runs
// go.podman.io/common/pkg/hooks/exec.RuntimeConfigFilter (Podman): it reads
// a runtime spec (config.json) from stdin, rewrites its
// process.capabilities with [plugin.RewriteCapabilities] and writes the spec
// to stdout with the text of the lists that changed replaced. Warnings about entries it dropped go to stderr, one a line.
//
// Nothing is written to stdout unless the whole result was computed: on an
// error the engine sees an empty output and a failed hook. Errors about the
// input wrap [plugin.ErrInvalidSpec].
func Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, opts Options) error {
	limit := opts.MaxInput
	if limit <= 0 {
		limit = plugin.MaxSpecSize
	}
	data, err := readLimited(stdin, limit)
	if err != nil {
		return err
	}
	spec, err := plugin.DecodeCapabilities(data, "config.json on stdin")
	if err != nil {
		return err
	}
	env, warnings, err := target(ctx, opts)
	if err != nil {
		return err
	}
	out, more, err := rewrite(data, spec, env)
	if err != nil {
		return err
	}
	for _, w := range append(warnings, more...) {
		fmt.Fprintln(stderr, "capgen hook: warning:", w)
	}
	_, err = stdout.Write(out)
	return err
}

// rewrite returns data with the capability lists of spec, decoded from
// it, rewritten for env: the text of each list that changes replaced
// (capsplice), everything else as the engine wrote it, members this
// program's runtime-spec does not know included. Only when a list to
// write has no member in data to replace (a widened spec without
// process.capabilities) is the spec decoded whole and encoded again, as
// [plugin.FilterConfig] does.
func rewrite(data []byte, spec *specs.Spec, env plugin.Target) ([]byte, []string, error) {
	var before specs.LinuxCapabilities
	if spec.Process != nil && spec.Process.Capabilities != nil {
		before = *spec.Process.Capabilities
	}
	warnings, err := plugin.RewriteCapabilities(spec, env)
	if err != nil {
		return nil, nil, err
	}
	if spec.Process == nil {
		return data, warnings, nil
	}
	changed := capsplice.Changed(&before, spec.Process.Capabilities)
	if len(changed) == 0 {
		return data, warnings, nil
	}
	if out, err := capsplice.Splice(data, []string{"process", "capabilities"}, changed); err == nil {
		return out, warnings, nil
	}
	return plugin.FilterConfig(data, env)
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading config.json from stdin: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: config.json on stdin is larger than %d bytes", plugin.ErrInvalidSpec, limit)
	}
	return data, nil
}

// target reads the running kernel, the hook's bounding set (the engine's,
// which the hook inherits) and the runtime's features. A runtime that
// cannot be probed is an unknown runtime, with a warning: the hook then
// writes the table's names, as engines do today.
func target(ctx context.Context, opts Options) (plugin.Target, []string, error) {
	host, err := plugin.HostEnv()
	if err != nil {
		return plugin.Target{}, nil, fmt.Errorf("precreate hook: %w", err)
	}
	runtime := opts.Runtime
	if runtime == "" {
		if opts.DefaultRuntime == nil {
			return plugin.Target{}, nil, fmt.Errorf("precreate hook: no runtime named, and no default runtime")
		}
		if runtime, err = opts.DefaultRuntime(); err != nil {
			return plugin.Target{}, nil, fmt.Errorf("precreate hook: %w", err)
		}
	}
	p := opts.Prober
	if p == nil {
		p = &ociruntime.Prober{}
	}
	var warnings []string
	features, err := p.Probe(ctx, runtime)
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("%v; writing capability names only", err))
		features = &plugin.Features{Runtime: runtime, Unknown: true, Reason: err.Error()}
	}
	return plugin.Target{Env: host, Features: features, Policy: opts.Policy, TrustPrivileged: opts.TrustPrivileged}, warnings, nil
}
