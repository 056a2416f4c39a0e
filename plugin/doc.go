// Package plugin is the layer a container engine calls when it builds an OCI
// runtime spec, so that process.capabilities holds what the container was
// granted in a form the OCI runtime accepts.
//
// [MergeCapabilities] merges containers.conf's default_capabilities
// ([DefaultCapabilities]), --cap-add and --cap-drop the way
// go.podman.io/common does, for the running kernel. [Probe] and [Prober]
// learn what an OCI runtime accepts in process.capabilities from its
// features command (or its --version), with a cache that can never be
// stale. [Emit] writes one list in the form a [Policy] picks for that
// runtime — canonical names, numerals, or the ALL_CAPS pseudo-capability of
// runtime-spec issue #1071 — with a [Report] of every capability it had to
// leave out and why. [Apply] merges and emits for a whole spec, filling the
// five lists as Podman does, for the runtime a probe described.
//
// For engines that do not call the package, [RunHook] is a precreate hook
// that rewrites the capabilities of a config.json ([FilterConfig] is its
// work on one input).
//
// Nothing is ever granted outside what was requested, what the kernel has,
// the bounding set of the process starting the runtime and what the runtime
// accepts (for a runtime whose features are unknown, the table's names).
package plugin
