package main

import "github.com/capgen-dev/capgen/hack/internal/srctree"

// buildahSetupCapabilities is what Buildah's setupCapabilities in
// run_linux.go becomes: one call of common's SetupSpec.
const buildahSetupCapabilities = `// setupCapabilities sets the capabilities of the container's process,
// for runtime, the OCI runtime that will apply them: "" when Buildah
// applies them itself (chroot isolation).
func setupCapabilities(g *generate.Generator, defaultCapabilities, adds, drops []string, runtime string) error {
	report, err := capabilities.SetupSpec(g.Config, capabilities.Container{
		Defaults: defaultCapabilities,
		Add:      adds,
		Drop:     drops,
		Rules:    capabilities.BuildahRules,
		Runtime:  runtime,
	})
	if err != nil {
		return err
	}
	for _, w := range report.Warnings {
		logrus.Warn(w)
	}
	return nil
}

// capabilityRuntime returns the OCI runtime that will apply the
// container's capabilities, found as runUsingRuntimeSubproc finds it, or
// "" for chroot isolation, which uses no OCI runtime.
func capabilityRuntime(isolation define.Isolation, runtime string) string {
	if isolation == IsolationChroot {
		return ""
	}
	runtime = cmp.Or(runtime, util.Runtime())
	return cmp.Or(util.FindLocalRuntime(runtime), runtime)
}
`

// editBuildah makes Buildah's setupCapabilities call common's
// capabilities.SetupSpec for the OCI runtime that will run the container,
// and for none with chroot isolation; it removes setupCapAdd and
// setupCapDrop, which that leaves without a caller.
func editBuildah(t *srctree.Tree) error {
	const linux, freebsd, common = "run_linux.go", "run_freebsd.go", "run_common.go"
	if err := t.ReplaceFunc(linux, "setupCapabilities", buildahSetupCapabilities); err != nil {
		return err
	}
	for _, f := range []string{"setupCapAdd", "setupCapDrop"} {
		if err := t.ReplaceFunc(linux, f, ""); err != nil {
			return err
		}
	}
	if err := t.Replace(linux, "\thomeDir, err := b.configureUIDGID(g, mountPoint, options)\n",
		"\thomeDir, err := b.configureUIDGID(g, mountPoint, options, capabilityRuntime(isolation, options.Runtime))\n"); err != nil {
		return err
	}
	if err := t.AddImport(linux, "cmp"); err != nil {
		return err
	}
	if err := t.DropUnusedImports(linux, map[string]string{"strings": "strings"}); err != nil {
		return err
	}
	if err := t.Replace(freebsd, "func setupCapabilities(g *generate.Generator, defaultCapabilities, adds, drops []string) error {\n",
		"func setupCapabilities(g *generate.Generator, defaultCapabilities, adds, drops []string, runtime string) error {\n"); err != nil {
		return err
	}
	if err := t.Replace(freebsd, "\thomeDir, err := b.configureUIDGID(g, mountPoint, options)\n",
		"\thomeDir, err := b.configureUIDGID(g, mountPoint, options, \"\")\n"); err != nil {
		return err
	}
	if err := t.Replace(common, "func (b *Builder) configureUIDGID(g *generate.Generator, mountPoint string, options RunOptions) (string, error) {\n",
		"func (b *Builder) configureUIDGID(g *generate.Generator, mountPoint string, options RunOptions, capRuntime string) (string, error) {\n"); err != nil {
		return err
	}
	return t.Replace(common, "\tif err := setupCapabilities(g, b.Capabilities, options.AddCapabilities, options.DropCapabilities); err != nil {\n",
		"\tif err := setupCapabilities(g, b.Capabilities, options.AddCapabilities, options.DropCapabilities, capRuntime); err != nil {\n")
}
