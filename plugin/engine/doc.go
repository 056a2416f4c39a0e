// Package engine holds the drop-in replacements for the capability code of
// Podman and Buildah: [Podman] for the capability block of
// securityConfigureGenerator (pkg/specgen/generate/security_linux.go), and
// [Buildah] for setupCapabilities (run_linux.go). Each takes the
// runtime-tools generator the engine builds its spec with, fills
// process.capabilities through [plugin.Apply] for the OCI runtime the
// container will use, and keeps the engine's own semantics where capgen
// does not deliberately differ (see the functions).
//
// It is a package of its own so that users of the plugin package do not
// take in github.com/opencontainers/runtime-tools, which both engines
// vendor already.
package engine
