package plugin

import (
	"fmt"
	"strings"
)

// Policy chooses the form of the process.capabilities entries.
type Policy int

const (
	// Auto picks AllCaps when the runtime advertises ALL_CAPS, else Numeric
	// when it takes numerals, else Names.
	Auto Policy = iota
	// Names emits canonical "CAP_X" names only, and only names the runtime
	// recognises.
	Names
	// Numeric emits names the runtime recognises and decimal numerals for
	// kernel capabilities it does not name, when it takes numerals.
	Numeric
	// AllCaps emits ["ALL_CAPS"] for an "all" request to a runtime that
	// advertises it, and falls back to Auto's choice otherwise.
	AllCaps
)

var policyNames = [...]string{Auto: "auto", Names: "names", Numeric: "numeric", AllCaps: "all-caps"}

// String returns the policy's name as the CLI spells it: "auto", "names",
// "numeric" or "all-caps".
func (p Policy) String() string {
	if p >= 0 && int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy parses a policy name, in any ASCII case.
func ParsePolicy(s string) (Policy, error) {
	for p, name := range policyNames {
		if strings.EqualFold(s, name) {
			return Policy(p), nil
		}
	}
	return Auto, fmt.Errorf("policy %q: want one of %s", s, strings.Join(policyNames[:], ", "))
}
