package capnames

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks Parse against its contract, and against a reference
// parser written with the standard library's strconv and strings on the
// ASCII subset, where they are safe: both must accept the same input and
// agree on the result.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"CAP_SYS_ADMIN", "sys_admin", "39", "ſys_admin", "064"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		want, ok := referenceParse(s)
		if (err == nil) != ok || (ok && c != want) {
			t.Fatalf("Parse(%q) = %d, %v; reference parser says %d, %v", s, c, err, want, ok)
		}
		if err != nil {
			if !errors.Is(err, ErrUnknown) {
				t.Errorf("Parse(%q) error %v does not wrap ErrUnknown", s, err)
			}
			if !identifiesInput(err.Error(), s) {
				t.Errorf("Parse(%q) error %q does not quote the input", s, err)
			}
			if c.Valid() {
				t.Errorf("Parse(%q) returned %d with its error", s, c)
			}
			return
		}
		if !c.Valid() {
			t.Fatalf("Parse(%q) = %d, not in 0..63", s, c)
		}
		if back, err := Parse(c.String()); err != nil || back != c {
			t.Errorf("Parse(%q) = %d, but Parse(%q) = %d, %v", s, c, c.String(), back, err)
		}
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				t.Fatalf("Parse(%q) accepted non-ASCII byte %#x at %d", s, s[i], i)
			}
		}
		bare := strings.TrimPrefix(strings.ToUpper(s), "CAP_")
		if s != strconv.Itoa(int(c)) && bare != strings.TrimPrefix(c.String(), "CAP_") {
			t.Errorf("Parse(%q) = %v: neither its decimal nor its name", s, c)
		}
	})
}

// referenceParse is Parse as the contract states it, built from a map of
// every accepted spelling's canonical form.
func referenceParse(s string) (Cap, bool) {
	if n, err := strconv.Atoi(s); err == nil && strconv.Itoa(n) == s && n >= 0 && n <= 63 {
		return Cap(n), true
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return -1, false
		}
	}
	upper := strings.ToUpper(s) // ASCII only here, so no Unicode mapping
	for _, e := range Default().Entries() {
		if upper == e.Name || "CAP_"+upper == e.Name {
			return e.Value, true
		}
	}
	return -1, false
}
