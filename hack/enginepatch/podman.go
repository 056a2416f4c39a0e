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

// editPodman replaces the capability block of securityConfigureGenerator
// (pkg/specgen/generate/security_linux.go) with a call of common's
// capabilities.SetupSpec, and removes what that leaves without a caller.
func editPodman(t *srctree.Tree) error {
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
