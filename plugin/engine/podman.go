package engine

import (
	"cmp"
	"context"
	"fmt"

	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	"github.com/opencontainers/runtime-tools/generate"
	"go.podman.io/common/pkg/config"
)

// A Recipe holds what the entry points share; the zero Recipe, which the
// package functions use, probes with the process-wide [Prober].
type Recipe struct {
	// Prober probes the OCI runtimes; nil means [Prober].
	Prober *ociruntime.Prober
}

// probeIn probes runtime, resolved through cfg (nil: config.Default()).
func (r Recipe) probeIn(cfg *config.Config, runtime string) (*plugin.Features, error) {
	p := r.Prober
	if p == nil {
		p = Prober()
	}
	return p.ProbeIn(context.Background(), Lookup(cfg), runtime)
}

// PodmanContainer is what Podman's securityConfigureGenerator knows of a
// container's capabilities, read from its *specgen.SpecGenerator s.
type PodmanContainer struct {
	Privileged      bool              // s.IsPrivileged()
	CapAdd, CapDrop []string          // s.CapAdd, s.CapDrop
	User            string            // s.User
	KeepID          bool              // s.UserNS.NSMode == specgen.KeepID
	Labels          map[string]string // s.Labels: the image label io.containers.capabilities is read from here
	OCIRuntime      string            // s.OCIRuntime; "" for rtc.Engine.OCIRuntime
}

// request is c as the core states Podman's merge, with defaults.
func (c PodmanContainer) request(defaults []string) plugin.Request {
	return plugin.PodmanRequest(plugin.PodmanContainer{
		Privileged: c.Privileged, Defaults: defaults, Adds: c.CapAdd, Drops: c.CapDrop,
		User: c.User, KeepID: c.KeepID, Labels: c.Labels,
	})
}

// Podman does what the capability block of Podman's
// securityConfigureGenerator does, for the OCI runtime the container will
// use (c.OCIRuntime, else rtc's default, resolved through rtc's
// engine.runtimes), and returns the report; the caller logs its Warnings.
// It replaces the block from "if s.IsPrivileged()" through the assignment
// of the five lists, leaving g.Config for the code after it.
//
// For --privileged it calls g.SetupPrivileged(true) first, as Podman does,
// which also clears the SELinux label, the AppArmor profile and seccomp.
// The defaults are rtc's default_capabilities as rtc loaded them (system
// and user files, drop-ins, CONTAINERS_CONF, CONTAINERS_CONF_OVERRIDE and
// --module; see [LoadedDefaults]).
//
// Where it differs from Podman, on purpose: numerals ("39") are accepted;
// Unicode confusables ("ſys_admin") are refused; capabilities newer than
// moby/sys/capability's list work when the kernel has them; nothing is
// written that the runtime cannot apply (runc v1.0.0-rc92 fails a container
// naming CAP_PERFMON), the report saying what was left out and why; and a
// non-root user's capabilities are limited to the bounding list (Podman
// limits them to the host's bounding set only).
func Podman(g *generate.Generator, rtc *config.Config, c PodmanContainer) (*plugin.Report, error) {
	return Recipe{}.Podman(g, rtc, c)
}

// Podman is [Podman] with r's prober.
func (r Recipe) Podman(g *generate.Generator, rtc *config.Config, c PodmanContainer) (*plugin.Report, error) {
	if g == nil || rtc == nil {
		return nil, fmt.Errorf("%w: nil generator or configuration", plugin.ErrInvalidRequest)
	}
	defaults, err := LoadedDefaults(rtc)
	if err != nil {
		return nil, err
	}
	runtime := cmp.Or(c.OCIRuntime, rtc.Engine.OCIRuntime)
	features, err := r.probeIn(rtc, runtime)
	if err != nil {
		return nil, err
	}
	if c.Privileged {
		g.SetupPrivileged(true)
	}
	req := c.request(defaults)
	req.Runtime = features
	report, err := plugin.Apply(g.Config, req)
	return report, commonError(err)
}
