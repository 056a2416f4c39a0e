package plugin

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/capgen-dev/capgen/capnames"
)

// Emit returns the entries of one process.capabilities list granting the
// capabilities of requested that env and the runtime allow, in the form
// policy picks, and a report accounting for each requested capability:
// granted, or left out once with its reason. all says whether the request
// was "all" (--cap-add=all, --privileged), the only request ALL_CAPS
// may stand for.
//
// The entries never grant more than requested ∩ kernel ∩ bounding set:
//
//   - Names emits the table's canonical names the runtime recognises.
//   - Numeric adds decimal numerals ("39") for capabilities the runtime or
//     the table does not name; it falls back to Names with a warning when
//     the runtime takes no numerals.
//   - AllCaps emits ["ALL_CAPS"] only for an "all" request that holds
//     every capability of the kernel, to a runtime that advertises it: the
//     runtime expands ALL_CAPS to every capability it can grant, those of
//     the kernel in its own bounding set, which is env's (docs/proposal.md);
//     capgen's shim (Features.Shim) also within what the real runtime
//     takes. Otherwise it falls back, with a warning, to what Auto would
//     pick.
//   - Auto picks AllCaps when the runtime advertises it and the request
//     fits, else Numeric when the runtime takes numerals, else Names.
//
// Entries are in ascending order of capability number. A nil runtime is
// one whose features are unknown.
func Emit(requested capnames.Set, all bool, env Env, runtime *Features, policy Policy) ([]string, *Report, error) {
	e, err := newEmission(requested, all, env, runtime, policy)
	if err != nil {
		return nil, nil, err
	}
	e.resolve(true)
	return e.entries(e.granted), e.report(), nil
}

// emission decides the entries of the lists of one spec.
type emission struct {
	env     Env
	table   *capnames.Table
	rt      *Features
	asked   Policy
	applied Policy
	all     bool

	requested capnames.Set // what was asked for
	allowed   capnames.Set // requested ∩ kernel ∩ bounding
	granted   capnames.Set // allowed minus what the runtime cannot take

	omitted  []Omission
	warnings []string
}

// ErrInvalidPolicy is wrapped by the errors about a [Policy] value that is
// none of the defined ones.
var ErrInvalidPolicy = errors.New("invalid emission policy")

// newEmission checks its inputs and sets aside the requested capabilities
// the kernel or the bounding set rule out.
func newEmission(requested capnames.Set, all bool, env Env, rt *Features, policy Policy) (*emission, error) {
	if err := env.check(); err != nil {
		return nil, err
	}
	if policy < Auto || policy > AllCaps {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPolicy, policy)
	}
	e := &emission{env: env, table: env.table(), rt: rt, asked: policy, all: all, requested: requested}
	if rt != nil && rt.Unknown {
		e.warn("entries unverified for %s, which is assumed to take the table's names: %s", e.runtimeName(), rt.Reason)
	}
	for _, c := range requested.Caps() {
		switch {
		case c > env.KernelLast:
			e.omit(c, NotInKernel, kernelLacks(e.table, c, env.KernelLast))
		case !env.Bounding.Has(c):
			e.omit(c, NotInBoundingSet, "not in the bounding set of the process starting the runtime")
		default:
			e.allowed.Add(c)
		}
	}
	return e, nil
}

// kernelLacks says why a kernel whose last capability is last lacks c, a
// capability above last: the Linux release that added c, when t knows it.
func kernelLacks(t *capnames.Table, c, last capnames.Cap) string {
	if entry, ok := t.Lookup(c); ok && entry.Since != "" {
		return fmt.Sprintf("needs Linux %s; this kernel's last capability is %d", entry.Since, last)
	}
	return fmt.Sprintf("above this kernel's last capability, %d", last)
}

func (e *emission) omit(c capnames.Cap, r Reason, text string) {
	e.omitted = append(e.omitted, Omission{Cap: c, Name: e.table.Name(c), Reason: r, Text: text})
}

func (e *emission) warn(format string, args ...any) {
	e.warnings = append(e.warnings, fmt.Sprintf(format, args...))
}

// resolve picks the policy applied and the capabilities granted. listsFit
// reports whether every other list of the spec is empty or the whole
// bounding list, so that ALL_CAPS can stand for it too.
func (e *emission) resolve(listsFit bool) {
	fallback := Names
	if e.rt.takesNumerals() {
		fallback = Numeric
	}
	switch e.asked {
	case Auto:
		e.applied = fallback
		if e.allCapsBlocker(listsFit) == "" {
			e.applied = AllCaps
		}
	case AllCaps:
		e.applied = AllCaps
		if why := e.allCapsBlocker(listsFit); why != "" {
			e.applied = fallback
			e.warn("policy all-caps: %s; emitting entries by policy %s", why, fallback)
		}
	case Numeric:
		e.applied = fallback
		if fallback != Numeric {
			e.warn("policy numeric: %s takes no numerals; emitting entries by policy names", e.runtimeName())
		}
	default:
		e.applied = Names
	}
	if e.applied == AllCaps && !e.rt.Shim {
		e.granted = e.allowed // the runtime expands ALL_CAPS to all of them
		return
	}
	for _, c := range e.allowed.Caps() {
		if _, ok := e.entry(c); ok {
			e.granted.Add(c)
			continue
		}
		e.omitUnexpressible(c)
	}
}

// allCapsBlocker returns why ALL_CAPS cannot stand for the request, or ""
// when it can.
func (e *emission) allCapsBlocker(listsFit bool) string {
	kernel := e.env.kernel()
	switch {
	case e.rt == nil || e.rt.Unknown || !e.rt.AllCaps:
		return e.runtimeName() + " does not advertise ALL_CAPS"
	case !e.all:
		return `the request is not "all"`
	case kernel.Minus(e.requested) != 0:
		return "the request leaves out " + e.nameList(kernel.Minus(e.requested))
	case !listsFit:
		return "the user's capabilities are only part of the bounding list"
	}
	return ""
}

// entry returns the entry standing for c under the applied policy, other
// than ALL_CAPS, and whether there is one the runtime takes.
func (e *emission) entry(c capnames.Cap) (string, bool) {
	if row, ok := e.table.Lookup(c); ok && e.rt.Recognises(row.Name) {
		return row.Name, true
	}
	if e.applied == Numeric || (e.applied == AllCaps && e.rt.takesNumerals()) {
		return strconv.Itoa(int(c)), true
	}
	return "", false
}

func (e *emission) omitUnexpressible(c capnames.Cap) {
	row, named := e.table.Lookup(c)
	switch {
	case named && e.rt.takesNumerals():
		e.omit(c, UnknownToRuntime, e.notTaken(c, row.Name)+"; policy names emits no numerals")
	case named:
		e.omit(c, UnknownToRuntime, e.notTaken(c, row.Name)+", which takes no numerals")
	case e.rt.takesNumerals():
		e.omit(c, Unnamed, "the capability table "+e.tableName()+"has no name for it; policy names emits no numerals")
	default:
		e.omit(c, Unnamed, "the capability table "+e.tableName()+"has no name for it and "+e.runtimeName()+" takes no numerals")
	}
}

// notTaken says why the runtime cannot be given c by its name: what its
// trial saw, or that its features do not list the name.
func (e *emission) notTaken(c capnames.Cap, name string) string {
	rt := e.runtimeName()
	if e.rt == nil || e.rt.Source != FromTrial {
		return "unknown to " + rt
	}
	switch {
	case slices.Contains(e.rt.Rejected, name):
		return "rejected by " + rt + " (it failed a trial container naming it)"
	case !e.rt.Tested.Has(c):
		return "not tried on " + rt + " (its trial ran where the bounding set lacked it)"
	}
	return "not applied by " + rt + " in its trial"
}

// entries returns the list entries granting set, a subset of the granted
// capabilities.
func (e *emission) entries(set capnames.Set) []string {
	set = set.Intersect(e.granted)
	if e.applied == AllCaps && set == e.granted && set != 0 {
		// The runtime expands ALL_CAPS within its own bounding set, the
		// one of the process starting it; a shim also within what the
		// real runtime takes. That is what granted holds.
		return []string{capnames.AllCaps}
	}
	list := make([]string, 0, set.Len())
	for _, c := range set.Caps() {
		// With ALL_CAPS applied, resolve made sure no list is a part of
		// the kernel's capabilities; if one were, a capability without
		// an entry is left out rather than widened.
		if entry, ok := e.entry(c); ok {
			list = append(list, entry)
		}
	}
	return list
}

func (e *emission) report() *Report {
	// Omissions are found in two passes (kernel and bounding set first,
	// then what the runtime cannot express); the report lists them by
	// capability.
	slices.SortFunc(e.omitted, func(a, b Omission) int { return cmp.Compare(a.Cap, b.Cap) })
	return &Report{
		Runtime:   e.rt.label(),
		Learned:   e.rt.learned(),
		Policy:    e.applied,
		All:       e.all,
		Requested: e.requested,
		Granted:   e.granted,
		Omitted:   e.omitted,
		Warnings:  e.warnings,
	}
}

func (e *emission) runtimeName() string { return e.rt.displayName() }

func (e *emission) tableName() string {
	if k := e.table.Kernel(); k != "" {
		return "(Linux " + k + ") "
	}
	return ""
}

func (e *emission) nameList(s capnames.Set) string { return namesIn(e.table, s) }

// learned says how f was learned; nil features are assumed.
func (f *Features) learned() Source {
	if f == nil || f.Unknown {
		return Assumed
	}
	return f.Source
}

// takesNumerals reports whether the runtime is known to take numerals. That
// holds even when its names are unknown: crun 1.8.1 has no features
// command, but its --version says it maps entries with libcap.
func (f *Features) takesNumerals() bool { return f != nil && f.Numerals }

// displayName names the runtime in texts: "runtime crun 1.8.1".
func (f *Features) displayName() string {
	if l := f.label(); l != "" {
		return "runtime " + l
	}
	return "the runtime"
}

// label is the runtime's version when it said it, else its path.
func (f *Features) label() string {
	switch {
	case f == nil:
		return ""
	case f.Version != "":
		return f.Version
	}
	return f.Runtime
}
