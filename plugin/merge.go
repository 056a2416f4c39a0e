package plugin

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/capgen-dev/capgen/capnames"
)

// ErrMergeConflict is wrapped by the errors of [MergeCapabilities] for a
// request that asks for a capability and its removal at once: "all" in both
// adds and drops, or one capability in both.
var ErrMergeConflict = errors.New("capability both added and dropped")

// MergeCapabilities computes the capabilities of a container from base (the
// engine's default_capabilities), adds (--cap-add) and drops (--cap-drop),
// with the contract of go.podman.io/common/pkg/capabilities.MergeCapabilities:
//
//   - With no adds and no drops the result is base.
//   - "all", in any ASCII letter case, in drops makes the result exactly the
//     adds; "all" in adds as well is an error.
//   - "all" in adds makes the result the calling process's bounding set
//     minus the drops; base and the other adds are then not used (but are
//     still checked), and a capability both added and dropped is not an
//     error, because the bounding set replaces the adds.
//   - Otherwise the result is base minus drops plus adds, and a capability
//     both added and dropped is an error wrapping [ErrMergeConflict].
//   - Entries are names with or without "CAP_" in any ASCII letter case.
//     An entry the table does not know, or that names a capability the
//     running kernel lacks (CAP_BPF on Linux 5.7), is an error that wraps
//     [capnames.ErrUnknown] and quotes the entry, as go.podman.io/common,
//     which knows only the running kernel's capabilities, rejects it.
//     (plugin/engine's entry points also wrap common's
//     capabilities.ErrUnknownCapability; this package imports no
//     go.podman.io package, so that common can import it.)
//   - The result holds canonical names ("CAP_CHOWN") sorted as strings,
//     and is never nil.
//
// It differs from go.podman.io/common on purpose in these ways:
//
//  1. Numerals are accepted: "39" is the capability numbered 39 and comes out
//     as its name, "CAP_BPF". A number the kernel has but the table does not
//     name comes out as the decimal number ("41"); a number above the
//     kernel's last capability is an unknown capability, like a name the
//     kernel lacks. go.podman.io/common rejects every numeral.
//  2. Names are matched in ASCII letter case only. go.podman.io/common
//     upper-cases with Unicode rules, so "ſys_admin" (long s) or "kıll"
//     (dotless i) passes there as CAP_SYS_ADMIN or CAP_KILL; here they are
//     unknown capabilities.
//  3. Capabilities are those of the running kernel, not of the list compiled
//     into github.com/moby/sys/capability: a capability newer than that
//     list can be named (or numbered) and is part of "all" when the kernel
//     and the bounding set have it.
//
// Two differences follow from the result being a set: duplicates in the
// input appear once in the result (go.podman.io/common repeats them), and
// "all" in base is an unknown capability (go.podman.io/common copies the
// literal "ALL" into its result, which no OCI runtime applies).
//
// The kernel's last capability and bounding set are read once per process
// ([capnames.KernelLast], [capnames.Bounding]).
func MergeCapabilities(base, adds, drops []string) ([]string, error) {
	last, err := capnames.KernelLast()
	if err != nil {
		return nil, fmt.Errorf("merging capabilities: %w", err)
	}
	return mergeCaps(base, adds, drops, mergeEnv{last: last, bounding: capnames.Bounding})
}

// mergeEnv is the view of the kernel that merging depends on, so that tests
// can stand in for kernels older or newer than the table.
type mergeEnv struct {
	// last is the kernel's highest capability; no entry may name a higher one.
	last capnames.Cap
	// bounding returns the set "all" in adds stands for. It is called only
	// for such a request.
	bounding func() (capnames.Set, error)
	// base names the base list in errors; "" is "base".
	base string
}

// mergeCaps is MergeCapabilities against env.
func mergeCaps(base, adds, drops []string, env mergeEnv) ([]string, error) {
	set, err := mergeCapSet(base, adds, drops, env)
	if err != nil {
		return nil, err
	}
	return sortedNames(set), nil
}

// mergeCapSet is mergeCaps with the result as a set.
func mergeCapSet(base, adds, drops []string, env mergeEnv) (capnames.Set, error) {
	baseName := cmp.Or(env.base, "base")
	baseSet, _, err := parseCapList(baseName, base, env.last, false)
	if err != nil || len(adds) == 0 && len(drops) == 0 {
		return baseSet, err
	}
	dropSet, dropAll, err := parseCapList("cap-drop", drops, env.last, true)
	if err != nil {
		return 0, err
	}
	addSet, addAll, err := parseCapList("cap-add", adds, env.last, true)
	if err != nil {
		return 0, err
	}
	switch {
	case dropAll && addAll:
		return 0, fmt.Errorf("cap-add and cap-drop both \"all\": %w", ErrMergeConflict)
	case dropAll:
		return addSet, nil
	case addAll:
		bounding, err := env.bounding()
		if err != nil {
			return 0, fmt.Errorf("cap-add \"all\": %w", err)
		}
		return bounding.Minus(dropSet), nil
	}
	if both := addSet.Intersect(dropSet); both != 0 {
		return 0, fmt.Errorf("capability %s in cap-add and cap-drop: %w", sortedNames(both)[0], ErrMergeConflict)
	}
	return baseSet.Minus(dropSet).Union(addSet), nil
}

// parseCapList parses the entries of one input list into a set. all reports
// whether an entry was "all", which only a list with allowAll may hold.
func parseCapList(list string, entries []string, last capnames.Cap, allowAll bool) (set capnames.Set, all bool, err error) {
	index := capIndex()
	for _, e := range entries {
		c, ok := index.lookup(e)
		if !ok {
			if IsAll(e) {
				if !allowAll {
					return 0, false, &unknownCapError{list: list, err: fmt.Errorf(
						"capability %q: %w: \"all\" is meaningful only in cap-add or cap-drop", e, capnames.ErrUnknown)}
				}
				all = true
				continue
			}
			if c, err = capnames.Parse(e); err != nil {
				return 0, false, &unknownCapError{list: list, err: err}
			}
		}
		if c > last {
			return 0, false, &unknownCapError{list: list, err: notInKernel(e, c, last)}
		}
		set.Add(c)
	}
	return set, all, nil
}

// IsAll reports whether s is "all" in any ASCII letter case: the entry of
// --cap-add and --cap-drop that stands for every capability. Unicode case
// folding is not applied, so "ALſ" is not "all".
func IsAll(s string) bool {
	return len(s) == 3 && s[0]|0x20 == 'a' && s[1]|0x20 == 'l' && s[2]|0x20 == 'l'
}

// notInKernel is the error for entry, which names c, a capability above the
// kernel's last.
func notInKernel(entry string, c, last capnames.Cap) error {
	reason := kernelLacks(capnames.Default(), c, last)
	if c.Known() {
		reason = c.String() + " " + reason
	}
	return fmt.Errorf("capability %q: %w: %s", entry, capnames.ErrUnknown, reason)
}

// unknownCapError is an entry that is not a capability of the running
// kernel, naming the list it is in.
type unknownCapError struct {
	list string // the list's name: "cap-add", "cap-drop" or mergeEnv.base
	err  error  // wraps capnames.ErrUnknown and quotes the entry
}

func (e *unknownCapError) Error() string { return e.list + ": " + e.err.Error() }

func (e *unknownCapError) Unwrap() error { return e.err }

// capIndex returns the index of the table's names in the two forms engines
// pass most, "CAP_NET_ADMIN" and "NET_ADMIN", and of the string order of
// all names. It is built on first use, not at start-up: a program that
// imports the package without merging pays nothing.
var capIndex = sync.OnceValue(func() *nameIndex { return newNameIndex(capnames.Default()) })

// nameIndex finds a canonical name in a few nanoseconds, where
// capnames.Parse folds case and consults a map; everything else goes to
// capnames.Parse. It is built once and never modified.
type nameIndex struct {
	names [capnames.MaxCap + 1]string // the table's name, or the decimal number
	// slots maps hash(short name) to capability + 1; 0 is empty.
	slots [nameSlots]int8
	seed  uint32 // makes hash collision-free over the table; 0 disables slots
	// byRank is every capability in the string order of names; rank is
	// the inverse.
	byRank [capnames.MaxCap + 1]capnames.Cap
	rank   [capnames.MaxCap + 1]uint8
	// rankNames are the names in string order.
	rankNames [capnames.MaxCap + 1]string
	// rankBits[i][b] is the set of ranks of the capabilities whose bits
	// are b in byte i of a set: a set's ranks in eight lookups.
	rankBits [8][256]uint64
}

const nameSlots = 256

func newNameIndex(t *capnames.Table) *nameIndex {
	x := &nameIndex{}
	for c := range capnames.MaxCap + 1 {
		x.names[c], x.byRank[c] = t.Name(c), c
	}
	slices.SortFunc(x.byRank[:], func(a, b capnames.Cap) int { return strings.Compare(x.names[a], x.names[b]) })
	for r, c := range x.byRank {
		x.rank[c] = uint8(r)
		x.rankNames[r] = x.names[c]
	}
	for i := range x.rankBits {
		for b := range 256 {
			for bit := range 8 {
				if b&(1<<bit) != 0 {
					x.rankBits[i][b] |= 1 << x.rank[8*i+bit]
				}
			}
		}
	}
	// About one seed in 25 spreads 41 names over 256 slots without a
	// collision; a few hundred tries find one for a real table.
	caps := t.Caps()
	for seed := uint32(1); seed < 1<<12; seed++ {
		if x.fill(caps, seed) {
			return x
		}
	}
	x.slots, x.seed = [nameSlots]int8{}, 0 // no collision-free seed: always capnames.Parse
	return x
}

// fill fills slots with the names of caps hashed with seed and reports
// whether no two names collide.
func (x *nameIndex) fill(caps []capnames.Cap, seed uint32) bool {
	x.slots, x.seed = [nameSlots]int8{}, seed
	for _, c := range caps {
		h := x.hash(x.names[c][len("CAP_"):])
		if x.slots[h] != 0 {
			return false
		}
		x.slots[h] = int8(c) + 1
	}
	return true
}

// hash mixes the length and five bytes of short (the first two, the
// middle one, the last two), which tell the table's names apart, with a
// multiplicative hash seeded by seed.
func (x *nameIndex) hash(short string) uint8 {
	n := len(short)
	if n < 2 {
		return uint8(n)
	}
	k := uint64(n) | uint64(short[0])<<8 | uint64(short[1])<<16 | uint64(short[n/2])<<24 |
		uint64(short[n-2])<<32 | uint64(short[n-1])<<40
	return uint8((k * (uint64(x.seed)<<32 | 0x9e3779b9)) >> 56)
}

// lookup returns the capability e names when e is exactly a canonical name,
// with or without the "CAP_" prefix.
func (x *nameIndex) lookup(e string) (capnames.Cap, bool) {
	short := e
	if len(e) > 4 && e[:4] == "CAP_" {
		short = e[4:]
	}
	if short == "" || x.seed == 0 {
		return 0, false
	}
	i := x.slots[x.hash(short)]
	if i == 0 {
		return 0, false
	}
	c := capnames.Cap(i - 1)
	return c, x.names[c][len("CAP_"):] == short
}

// sortedNames returns the names of s sorted as strings, in one allocation:
// the ranks of its capabilities in string order, a byte of s at a time,
// then each run of consecutive ranks copied at once, as a copy of the
// result would be.
func sortedNames(s capnames.Set) []string {
	x := capIndex()
	var ranks uint64
	for i, v := 0, uint64(s); v != 0; i, v = i+1, v>>8 {
		ranks |= x.rankBits[i][v&0xff]
	}
	names := make([]string, 0, bits.OnesCount64(ranks))
	for ranks != 0 {
		lo := bits.TrailingZeros64(ranks)
		n := bits.TrailingZeros64(^(ranks >> lo)) // ranks lo, lo+1, ... lo+n-1 are set
		names = append(names, x.rankNames[lo:lo+n]...)
		ranks &^= (1<<n - 1) << lo
	}
	return names
}
