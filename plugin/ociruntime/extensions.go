package ociruntime

// The advertisement of process.capabilities entries other than names, as
// capgen proposes it for runtime-spec (docs/proposal.md): a features
// document's linux.capabilityExtensions, or runc's annotations for it.

import "github.com/opencontainers/runtime-spec/specs-go/features"

// Annotations by which a runc patched as docs/proposal.md describes says,
// against the released runtime-spec, that it takes the entries.
const (
	runcNumeralsAnnotation = "org.opencontainers.runc.capabilities.numerals.enabled"
	runcAllCapsAnnotation  = "org.opencontainers.runc.capabilities.allcaps.enabled"
)

// CapabilityExtensions is the linux.capabilityExtensions object of a
// features document: whether the runtime takes decimal numerals ("39")
// and "ALL_CAPS" in process.capabilities. runtime-spec v1.2.1's features
// package has no such field; [Document] adds it.
type CapabilityExtensions struct {
	Numerals *Extension `json:"numerals,omitempty"`
	AllCaps  *Extension `json:"allCaps,omitempty"`
}

// Extension is one member of [CapabilityExtensions]; a nil Enabled means
// unknown, not false.
type Extension struct {
	Enabled *bool `json:"enabled,omitempty"`
}

// Document is a runtime's features document with linux.capabilityExtensions.
// Its Linux shadows the embedded one in JSON.
type Document struct {
	features.Features
	Linux *Linux `json:"linux,omitempty"`
}

// Linux is the linux object of a [Document].
type Linux struct {
	features.Linux
	CapabilityExtensions *CapabilityExtensions `json:"capabilityExtensions,omitempty"`
}

// enabled reports whether x is advertised as enabled.
func (x *Extension) enabled() bool { return x != nil && x.Enabled != nil && *x.Enabled }

// Enable returns an Extension advertised as enabled.
func Enable() *Extension {
	t := true
	return &Extension{Enabled: &t}
}

// advertises reports whether the document advertises numerals and
// ALL_CAPS: in linux.capabilityExtensions, or by runc's annotations.
func (d *Document) advertises() (numerals, allCaps bool) {
	if d.Linux != nil && d.Linux.CapabilityExtensions != nil {
		x := d.Linux.CapabilityExtensions
		numerals, allCaps = x.Numerals.enabled(), x.AllCaps.enabled()
	}
	numerals = numerals || d.Annotations[runcNumeralsAnnotation] == "true"
	allCaps = allCaps || d.Annotations[runcAllCapsAnnotation] == "true"
	return numerals, allCaps
}
