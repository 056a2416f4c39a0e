package capnames

import "fmt"

// AllCaps is the pseudo-capability proposed in runtime-spec issue #1071:
// every capability the kernel running the container has.
const AllCaps = "ALL_CAPS"

// Materialize is the runtime side of [AllCaps]: it turns the entries of one
// process.capabilities list into the set a runtime would apply on a kernel
// whose last capability is last. "ALL_CAPS" stands for 0..last; names and
// numerals are read with [Parse]. Entries that cannot be mapped (unknown,
// malformed, or above last) are returned in input order so that the
// runtime can warn about them, as runtime-spec config.md asks; they never
// contribute to the set. The error is for a last outside 0..63 only.
func Materialize(entries []string, last Cap) (Set, []string, error) {
	if !last.Valid() {
		return 0, nil, fmt.Errorf("materialize: last capability %d outside 0..%d", last, MaxCap)
	}
	var set Set
	var unmapped []string
	for _, e := range entries {
		if e == AllCaps {
			set |= UpTo(last)
			continue
		}
		c, err := Parse(e)
		if err != nil || c > last {
			unmapped = append(unmapped, e)
			continue
		}
		set.Add(c)
	}
	return set, unmapped, nil
}
