// Package plugin is the capability core a container engine calls when it
// builds an OCI runtime spec, so that process.capabilities holds what the
// container was granted in a form the OCI runtime accepts. It imports no
// go.podman.io package, so that go.podman.io/common can import it.
//
// [MergeCapabilities] merges containers.conf's default_capabilities,
// --cap-add and --cap-drop the way go.podman.io/common does, for the
// running kernel. [Emit] writes one list in the form a [Policy] picks for a
// runtime's [Features] — canonical names, numerals, or the ALL_CAPS
// pseudo-capability of runtime-spec issue #1071 — with a [Report] of every
// capability it had to leave out and why. [Apply] merges and emits for a
// whole spec, filling the five lists as Podman does. [RewriteCapabilities]
// and [FilterConfig] rewrite the lists of a spec an engine already wrote,
// for a [Target]: what capgen's precreate hook and runtime shim do.
//
// Learning a runtime's Features is plugin/ociruntime's concern;
// containers.conf, runtime lookup and the Podman and Buildah entry points
// are plugin/engine's; the hook and the shim are internal/ocihook and
// internal/shim.
//
// Nothing is ever granted outside what was requested, what the kernel has,
// the bounding set of the process starting the runtime and what the runtime
// accepts (for a runtime whose features are unknown, the table's names).
package plugin
