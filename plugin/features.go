package plugin

import (
	"slices"

	"github.com/capgen-dev/capgen/capnames"
)

// Source says how a probe learned what a runtime applies.
type Source string

const (
	// FromFeatures: the runtime's features command listed its
	// capabilities (linux.capabilities).
	FromFeatures Source = "features"
	// FromTrial: the runtime reports no capabilities, so a trial created
	// throwaway containers and read the sets the kernel gave their init
	// process.
	FromTrial Source = "trial"
	// Assumed: neither worked; the runtime is assumed to recognise the
	// names of the capability table, as engines assume today. Entries
	// emitted for it are unverified.
	Assumed Source = "assumed"
)

// Features is what an OCI runtime accepts in process.capabilities.
type Features struct {
	// Runtime is the resolved path of the runtime binary.
	Runtime string `json:"runtime"`
	// Source says how the rest was learned.
	Source Source `json:"source"`
	// Unknown is set when the runtime's capability names could not be
	// learnt (Source is Assumed); Reason says why. An unknown runtime is
	// assumed to recognise the names of the capability table, as engines
	// assume today.
	Unknown bool   `json:"unknown,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Names are the capability names the runtime takes: those its features
	// list, as it lists them, or those a trial saw it apply; nil when
	// Unknown. "ALL_CAPS" is never one.
	Names []string `json:"names,omitempty"`
	// Numerals is set when the runtime maps decimal entries ("39") to
	// capability numbers: crun does, through libcap's cap_from_name; a
	// runtime may advertise it in its features (docs/proposal.md); a
	// trial may see it.
	Numerals bool `json:"numerals,omitempty"`
	// AllCaps is set when the runtime advertises that it expands
	// "ALL_CAPS" to every capability it can grant, within its own
	// bounding set: linux.capabilityExtensions.allCaps in its features,
	// or runc's annotation for it (docs/proposal.md).
	AllCaps bool `json:"allCaps,omitempty"`
	// Version is the runtime's name and version when it said them
	// ("crun 1.8.1"), for reports.
	Version string `json:"version,omitempty"`
	// Tested is, for a trial, the capabilities it could observe: the
	// kernel's, less those outside the bounding set of the process that
	// ran it. Names holds no capability outside Tested.
	Tested capnames.Set `json:"tested,omitempty"`
	// Shim is set when the runtime is capgen's runtime shim (capgen-NAME),
	// which says so in its features: it expands ALL_CAPS and maps entries
	// itself for the real runtime NAME, within the kernel and the bounding
	// set of the process that runs it, so ALL_CAPS may stand for an "all"
	// request on a host whose bounding set lacks capabilities. Names and
	// Numerals are what the real runtime takes.
	Shim bool `json:"shim,omitempty"`
	// Rejected are, for a trial, the entries that made the runtime fail
	// the container (runc before 1.0.0-rc93: `unknown capability
	// "CAP_PERFMON"`), as opposed to entries it ignored.
	Rejected []string `json:"rejected,omitempty"`
}

// Recognises reports whether the runtime takes the canonical capability
// name: listed in its features or applied in its trial or, when those are
// unknown, assumed.
func (f *Features) Recognises(name string) bool {
	if f == nil || f.Unknown || f.Names == nil {
		return true
	}
	return slices.Contains(f.Names, name)
}
