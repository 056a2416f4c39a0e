// Package plugin is the layer a container engine calls when it builds an OCI
// runtime spec: it merges the requested capabilities the way
// go.podman.io/common does, learns what the OCI runtime accepts (with a
// cache that can never be stale), and emits process.capabilities in the form
// that runtime takes — canonical names, numerals, or the ALL_CAPS
// pseudo-capability of runtime-spec issue #1071 — with a report of every
// capability it had to leave out and why.
package plugin
