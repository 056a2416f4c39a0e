package plugin

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/capgen-dev/capgen/capnames"
	"go.podman.io/common/pkg/capabilities"
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
//   - Entries are names with or without "CAP_" in any ASCII letter case. A
//     name the running kernel does not have is an error that wraps both
//     capabilities.ErrUnknownCapability and [capnames.ErrUnknown] and quotes
//     the entry; so is a name it has but the capability table lacks.
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
}

// mergeCaps is MergeCapabilities against env.
func mergeCaps(base, adds, drops []string, env mergeEnv) ([]string, error) {
	baseSet, _, err := parseCapList("base", base, env.last, false)
	if err != nil {
		return nil, err
	}
	if len(adds) == 0 && len(drops) == 0 {
		return sortedNames(baseSet), nil
	}
	dropSet, dropAll, err := parseCapList("cap-drop", drops, env.last, true)
	if err != nil {
		return nil, err
	}
	addSet, addAll, err := parseCapList("cap-add", adds, env.last, true)
	if err != nil {
		return nil, err
	}
	switch {
	case dropAll && addAll:
		return nil, fmt.Errorf("cap-add and cap-drop both \"all\": %w", ErrMergeConflict)
	case dropAll:
		return sortedNames(addSet), nil
	case addAll:
		bounding, err := env.bounding()
		if err != nil {
			return nil, fmt.Errorf("cap-add \"all\": %w", err)
		}
		return sortedNames(bounding.Minus(dropSet)), nil
	}
	if both := addSet.Intersect(dropSet); both != 0 {
		return nil, fmt.Errorf("capability %s in cap-add and cap-drop: %w", sortedNames(both)[0], ErrMergeConflict)
	}
	return sortedNames(baseSet.Minus(dropSet).Union(addSet)), nil
}

// parseCapList parses the entries of one input list into a set. all reports
// whether an entry was "all", which only a list with allowAll may hold.
func parseCapList(list string, entries []string, last capnames.Cap, allowAll bool) (set capnames.Set, all bool, err error) {
	for _, e := range entries {
		if isAll(e) {
			if !allowAll {
				return 0, false, &unknownCapError{list: list, err: fmt.Errorf(
					"capability %q: %w: \"all\" is meaningful only in cap-add or cap-drop", e, capnames.ErrUnknown)}
			}
			all = true
			continue
		}
		c, err := capnames.Parse(e)
		if err != nil {
			return 0, false, &unknownCapError{list: list, err: err}
		}
		if c > last {
			return 0, false, &unknownCapError{list: list, err: notInKernel(e, c, last)}
		}
		set.Add(c)
	}
	return set, all, nil
}

// isAll reports whether s is "all" in any ASCII letter case.
func isAll(s string) bool {
	return len(s) == 3 && s[0]|0x20 == 'a' && s[1]|0x20 == 'l' && s[2]|0x20 == 'l'
}

func notInKernel(entry string, c, last capnames.Cap) error {
	if since := c.Since(); since != "" {
		return fmt.Errorf("capability %q: %w: %s needs Linux %s; this kernel's last capability is %d",
			entry, capnames.ErrUnknown, c, since, last)
	}
	return fmt.Errorf("capability %q: %w: above this kernel's last capability %d", entry, capnames.ErrUnknown, last)
}

// unknownCapError is an entry that is not a capability of the running
// kernel. It matches both go.podman.io/common's and capnames' sentinels, so
// callers of either API can test for it.
type unknownCapError struct {
	list string // "base", "cap-add" or "cap-drop"
	err  error  // wraps capnames.ErrUnknown and quotes the entry
}

func (e *unknownCapError) Error() string { return e.list + ": " + e.err.Error() }

func (e *unknownCapError) Unwrap() []error {
	return []error{capabilities.ErrUnknownCapability, e.err}
}

// namedCap is a capability number with its name in the table, or its
// decimal number when the table does not name it.
type namedCap struct {
	cap  capnames.Cap
	name string
}

// alphabetical returns every capability number 0..63 in the string order of
// the names: the order go.podman.io/common sorts its results in.
var alphabetical = sync.OnceValue(func() *[capnames.MaxCap + 1]namedCap {
	var o [capnames.MaxCap + 1]namedCap
	for c := range capnames.MaxCap + 1 {
		o[c] = namedCap{cap: c, name: capnames.Default().Name(c)}
	}
	slices.SortFunc(o[:], func(a, b namedCap) int { return strings.Compare(a.name, b.name) })
	return &o
})

// sortedNames returns the names of s sorted as strings, in one allocation.
func sortedNames(s capnames.Set) []string {
	names := make([]string, 0, s.Len())
	for _, e := range alphabetical() {
		if s.Has(e.cap) {
			names = append(names, e.name)
		}
	}
	return names
}
