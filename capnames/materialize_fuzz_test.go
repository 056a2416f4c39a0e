package capnames

import (
	"slices"
	"strings"
	"testing"
)

// FuzzMaterialize checks Materialize against a reference written from its
// contract, on the entries of list (split at commas) and a last capability:
// the set never leaves 0..last, every entry is either mapped into the set
// or returned unmapped, exactly once and in input order, and an unmapped
// entry never contributes a capability.
func FuzzMaterialize(f *testing.F) {
	f.Add("CAP_CHOWN,sys_admin,39,ALL_CAPS", 40)
	f.Add("CAP_BPF,40,41,ſys_admin", 38)
	f.Fuzz(func(t *testing.T, list string, last int) {
		entries := strings.Split(list, ",")
		set, unmapped, err := Materialize(entries, Cap(last))
		if last < 0 || last > int(MaxCap) {
			if err == nil || set != 0 || unmapped != nil {
				t.Fatalf("Materialize(%q, %d) = %v, %q, %v; want an error for a last outside 0..63", entries, last, set, unmapped, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Materialize(%q, %d): %v", entries, last, err)
		}
		if extra := set.Minus(UpTo(Cap(last))); extra != 0 {
			t.Fatalf("Materialize(%q, %d) = %v: %v beyond last", entries, last, set.Strings(), extra.Strings())
		}
		var want Set
		var wantUnmapped []string
		for _, e := range entries {
			if e == AllCaps {
				want |= UpTo(Cap(last))
				continue
			}
			if c, ok := referenceParse(e); ok && int(c) <= last {
				want.Add(c)
				continue
			}
			wantUnmapped = append(wantUnmapped, e)
		}
		if set != want {
			t.Errorf("Materialize(%q, %d) set %v, want %v", entries, last, set.Strings(), want.Strings())
		}
		if !slices.Equal(unmapped, wantUnmapped) {
			t.Errorf("Materialize(%q, %d) unmapped %q, want %q", entries, last, unmapped, wantUnmapped)
		}
		// Each unmapped entry on its own must grant nothing, and each
		// mapped one must grant a subset of the whole.
		for _, e := range entries {
			one, un, _ := Materialize([]string{e}, Cap(last))
			switch {
			case len(un) == 1 && one != 0:
				t.Errorf("entry %q both unmapped and granting %v", e, one.Strings())
			case len(un) == 0 && (one == 0 || one.Minus(set) != 0):
				t.Errorf("entry %q mapped to %v, not within %v", e, one.Strings(), set.Strings())
			case len(un) > 1:
				t.Errorf("entry %q returned unmapped %d times", e, len(un))
			}
		}
	})
}
