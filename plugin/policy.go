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

// ParsePolicy parses a policy name, in any ASCII letter case.
func ParsePolicy(s string) (Policy, error) {
	for p, name := range policyNames {
		if asciiEqualFold(s, name) {
			return Policy(p), nil
		}
	}
	return Auto, fmt.Errorf("policy %q: want one of %s", s, strings.Join(policyNames[:], ", "))
}

// asciiEqualFold is strings.EqualFold without Unicode folding, so that
// "nameſ" is not "names".
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}
