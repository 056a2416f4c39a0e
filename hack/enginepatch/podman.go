package main

import (
	"strings"

	"github.com/capgen-dev/capgen/hack/internal/srctree"
)

// podmanCapabilities is what the capability block of Podman's
// securityConfigureGenerator becomes: one call of common's SetupSpec.
const podmanCapabilities = `	// HANDLE CAPABILITIES
	// NOTE: Must happen before SECCOMP
	if s.IsPrivileged() {
		g.SetupPrivileged(true)
	}
	report, err := capabilities.SetupSpec(g.Config, capabilities.Container{
		Privileged:   s.IsPrivileged(),
		Defaults:     rtc.Containers.DefaultCapabilities.Get(),
		Add:          s.CapAdd,
		Drop:         s.CapDrop,
		User:         s.User,
		KeepID:       s.UserNS.NSMode == specgen.KeepID,
		Labels:       s.Labels,
		Runtime:      cmp.Or(s.OCIRuntime, rtc.Engine.OCIRuntime),
		RuntimePaths: rtc.Engine.OCIRuntimes,
	})
	if err != nil {
		return err
	}
	for _, w := range report.Warnings {
		logrus.Warn(w)
	}
	configSpec := g.Config

`

// podmanExecPrivileged is what a privileged exec's bounding set becomes
// in setProcessCapabilitiesExec: what a privileged container of the same
// runtime gets, by the same call, instead of this process's whole bounding
// set, which the runtime may not take and which is wider than a
// privileged container of it.
const podmanExecPrivileged = `	if options.Privileged {
		privileged := &spec.Spec{Process: &spec.Process{}}
		report, err := capabilities.SetupSpec(privileged, capabilities.Container{
			Privileged: true,
			Runtime:    c.ociRuntime.Path(),
		})
		if err != nil {
			return err
		}
		for _, w := range report.Warnings {
			logrus.Warn(w)
		}
		pspec.Capabilities.Bounding = privileged.Process.Capabilities.Bounding
	} else {
`

// editPodman replaces the capability block of securityConfigureGenerator
// (pkg/specgen/generate/security_linux.go) with a call of common's
// capabilities.SetupSpec, and removes what that leaves without a caller;
// a privileged exec (libpod/oci_conmon_exec_linux.go) gets its bounding
// set by the same call.
func editPodman(t *srctree.Tree) error {
	if err := editPodmanExec(t); err != nil {
		return err
	}
	const file = "pkg/specgen/generate/security_linux.go"
	b, err := t.File(file)
	if err != nil {
		return err
	}
	// The block runs from the declaration of caplist to the statement
	// after the five lists are set.
	const from = "\tvar (\n\t\tcaplist []string\n\t\terr     error\n\t)\n"
	const to = "\tif s.NoNewPrivileges != nil {\n"
	src := string(b)
	start, end := strings.Index(src, from), strings.Index(src, to)
	if start < 0 || end < start || strings.Count(src, from) != 1 || strings.Count(src, to) != 1 {
		return srctree.AnchorError(file, "the capability block of securityConfigureGenerator")
	}
	if err := t.Replace(file, src[start:end], podmanCapabilities); err != nil {
		return err
	}
	if err := t.AddImport(file, "cmp"); err != nil {
		return err
	}
	if err := t.DropUnusedImports(file, map[string]string{"slices": "slices", "strings": "strings"}); err != nil {
		return err
	}
	// Its one caller was the block: capgen writes ambient capabilities
	// for every kernel it supports (Linux 4.3 and later).
	const config = "pkg/specgen/generate/config_linux.go"
	if err := t.ReplaceFunc(config, "supportAmbientCapabilities", ""); err != nil {
		return err
	}
	return t.DropUnusedImports(config, map[string]string{"golang.org/x/sys/unix": "unix"})
}

// editPodmanExec makes setProcessCapabilitiesExec ask common's SetupSpec
// for a privileged exec's bounding set, for the container's runtime.
func editPodmanExec(t *srctree.Tree) error {
	const file = "libpod/oci_conmon_exec_linux.go"
	const privileged = `	allCaps, err := capabilities.BoundingSet()
	if err != nil {
		return err
	}
	if options.Privileged {
		pspec.Capabilities.Bounding = allCaps
	} else {
`
	if err := t.Replace(file, privileged, podmanExecPrivileged); err != nil {
		return err
	}
	return t.Replace(file, "\t\"go.podman.io/common/pkg/capabilities\"\n",
		"\t\"github.com/sirupsen/logrus\"\n\t\"go.podman.io/common/pkg/capabilities\"\n")
}
