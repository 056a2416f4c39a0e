// Package engine is capgen's containers.conf-aware layer: the default
// capabilities as Podman and Buildah load them ([DefaultCapabilities],
// [LoadedDefaults]), runtime names resolved through engine.runtimes
// ([Lookup], [Probe], [Prober], [DefaultRuntime]), and drop-in replacements
// for the capability code of Podman and Buildah: [Podman] for the capability
// block of securityConfigureGenerator (pkg/specgen/generate/security_linux.go),
// and [Buildah] for setupCapabilities (run_linux.go). Each takes the
// runtime-tools generator the engine builds its spec with, fills
// process.capabilities through [plugin.Apply] for the OCI runtime the
// container will use, and keeps the engine's own semantics where capgen
// does not deliberately differ (see the functions).
//
// It is apart from the core (package plugin) and plugin/ociruntime, which
// go.podman.io/common can import, because it imports common itself.
package engine
