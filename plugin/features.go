package plugin

import (
	"slices"
)

// Features is what an OCI runtime accepts in process.capabilities.
type Features struct {
	// Runtime is the resolved path of the runtime binary.
	Runtime string `json:"runtime"`
	// Unknown is set when the runtime's capability names could not be
	// learnt; Reason says why. An unknown runtime is assumed to recognise
	// the names of the capability table, as engines assume today.
	Unknown bool   `json:"unknown,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Names are the capability names the runtime lists in its features
	// (linux.capabilities), as it lists them; nil when Unknown.
	Names []string `json:"names,omitempty"`
	// Numerals is set when the runtime maps decimal entries ("39") to
	// capability numbers (crun does, through libcap's cap_from_name).
	Numerals bool `json:"numerals,omitempty"`
	// AllCaps is set when the runtime lists "ALL_CAPS" among its
	// capabilities.
	AllCaps bool `json:"allCaps,omitempty"`
	// Version is the runtime's name and version when it said them
	// ("crun 1.8.1"), for reports.
	Version string `json:"version,omitempty"`
}

// Recognises reports whether the runtime takes the canonical capability
// name: listed in its features or, when those are unknown, assumed.
func (f *Features) Recognises(name string) bool {
	if f == nil || f.Unknown || f.Names == nil {
		return true
	}
	return slices.Contains(f.Names, name)
}
