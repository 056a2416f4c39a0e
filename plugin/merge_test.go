package plugin

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"go.podman.io/common/pkg/capabilities"
)

// fixedEnv is a kernel whose last capability is last and whose bounding set
// is bounding.
func fixedEnv(last capnames.Cap, bounding capnames.Set) mergeEnv {
	return mergeEnv{last: last, bounding: func() (capnames.Set, error) { return bounding, nil }}
}

func TestMergeCaps(t *testing.T) {
	const (
		chown   = capnames.CAP_CHOWN
		kill    = capnames.CAP_KILL
		sysRes  = capnames.CAP_SYS_RESOURCE
		netAdm  = capnames.CAP_NET_ADMIN
		bpf     = capnames.CAP_BPF
		ckpt    = capnames.CAP_CHECKPOINT_RESTORE
		perfmon = capnames.CAP_PERFMON
	)
	// Like this machine: 0..40, CAP_SYS_RESOURCE missing from the bounding set.
	kernel40 := fixedEnv(40, capnames.UpTo(40).Minus(capnames.SetOf(sysRes)))
	// A kernel newer than the table, with capabilities 41 and 42.
	kernel42 := fixedEnv(42, capnames.SetOf(chown, kill, ckpt, 41, 42))
	// A 5.7 kernel: CAP_PERFMON, CAP_BPF and CAP_CHECKPOINT_RESTORE missing.
	kernel37 := fixedEnv(37, capnames.UpTo(37))

	tests := []struct {
		name              string
		env               mergeEnv
		base, adds, drops []string
		want              []string
		wantErr           error  // nil for success
		wantErrText       string // substring of the error
		wantUnknown       bool
	}{
		{name: "base only, normalised, sorted, deduplicated", env: kernel40,
			base: []string{"setuid", "CAP_CHOWN", "Cap_Kill", "chown"},
			want: []string{"CAP_CHOWN", "CAP_KILL", "CAP_SETUID"}},
		{name: "empty everything", env: kernel40, want: []string{}},
		{name: "add and drop", env: kernel40,
			base: []string{"CAP_CHOWN", "CAP_KILL"}, adds: []string{"net_admin"}, drops: []string{"KILL"},
			want: []string{"CAP_CHOWN", "CAP_NET_ADMIN"}},
		{name: "drop of a capability not in base", env: kernel40,
			base: []string{"CAP_CHOWN"}, drops: []string{"CAP_KILL"}, want: []string{"CAP_CHOWN"}},
		{name: "add outside the bounding set is kept, as in common", env: kernel40,
			base: []string{"CAP_CHOWN"}, adds: []string{"sys_resource"},
			want: []string{"CAP_CHOWN", "CAP_SYS_RESOURCE"}},
		{name: "add all is the bounding set minus drops", env: kernel42,
			base: []string{"CAP_NET_ADMIN"}, adds: []string{"All"}, drops: []string{"kill"},
			want: []string{"41", "42", "CAP_CHECKPOINT_RESTORE", "CAP_CHOWN"}},
		{name: "add all ignores a cap both added and dropped, as in common", env: kernel42,
			adds: []string{"ALL", "CHOWN"}, drops: []string{"chown"},
			want: []string{"41", "42", "CAP_CHECKPOINT_RESTORE", "CAP_KILL"}},
		{name: "drop all keeps only the adds", env: kernel40,
			base: []string{"CAP_CHOWN", "CAP_KILL"}, adds: []string{"NET_ADMIN", "net_admin"}, drops: []string{"all", "NET_ADMIN"},
			want: []string{"CAP_NET_ADMIN"}},
		{name: "drop all and no adds", env: kernel40,
			base: []string{"CAP_CHOWN"}, drops: []string{"aLL"}, want: []string{}},
		{name: "add all and drop all", env: kernel40,
			adds: []string{"all"}, drops: []string{"ALL"}, wantErr: ErrMergeConflict},
		{name: "added and dropped", env: kernel40,
			adds: []string{"CAP_KILL"}, drops: []string{"kill"}, wantErr: ErrMergeConflict, wantErrText: "CAP_KILL"},
		{name: "added as numeral and dropped as name", env: kernel40,
			adds: []string{"39"}, drops: []string{"cap_bpf"}, wantErr: ErrMergeConflict, wantErrText: "CAP_BPF"},

		// Deviation 1: numerals.
		{name: "numerals canonicalised", env: kernel40,
			base: []string{"0", "5"}, adds: []string{"39"}, drops: []string{"5"},
			want: []string{"CAP_BPF", "CAP_CHOWN"}},
		{name: "numeral the table does not name, on a newer kernel", env: kernel42,
			base: []string{"CAP_CHOWN"}, adds: []string{"42", "41"},
			want: []string{"41", "42", "CAP_CHOWN"}},
		{name: "numeral above the kernel's last capability", env: kernel40,
			adds: []string{"41"}, wantUnknown: true, wantErrText: `cap-add: capability "41"`},
		{name: "non-canonical numeral", env: kernel40,
			base: []string{"039"}, wantUnknown: true, wantErrText: `base: capability "039"`},

		// Deviation 2: Unicode confusables.
		{name: "long s", env: kernel40,
			adds: []string{"ſys_admin"}, wantUnknown: true, wantErrText: `"ſys_admin"`},
		{name: "dotless i", env: kernel40,
			drops: []string{"kıll"}, wantUnknown: true, wantErrText: `cap-drop: capability "kıll"`},

		// Deviation 3 and kernels older than the table.
		{name: "name the kernel lacks", env: kernel37,
			adds: []string{"CAP_BPF"}, wantUnknown: true, wantErrText: "needs Linux 5.8"},
		{name: "numeral the kernel lacks", env: kernel37,
			base: []string{"38"}, wantUnknown: true, wantErrText: `base: capability "38"`},
		{name: "all on an older kernel stops at its last capability", env: fixedEnv(37, capnames.UpTo(37).Intersect(capnames.SetOf(chown, 37))),
			adds: []string{"all"}, want: []string{"CAP_AUDIT_READ", "CAP_CHOWN"}},

		// Other inputs.
		{name: "all in base", env: kernel40,
			base: []string{"ALL"}, wantUnknown: true, wantErrText: `base: capability "ALL"`},
		{name: "unknown name", env: kernel40,
			base: []string{"CAP_CHOWN"}, adds: []string{"CAP_FOO"}, wantUnknown: true, wantErrText: `"CAP_FOO"`},
		{name: "empty entry", env: kernel40,
			drops: []string{""}, wantUnknown: true, wantErrText: `cap-drop: capability ""`},
		{name: "space around a name", env: kernel40,
			adds: []string{" chown"}, wantUnknown: true, wantErrText: `" chown"`},
		{name: "ALL_CAPS is not an input", env: kernel40,
			adds: []string{"ALL_CAPS"}, wantUnknown: true, wantErrText: `"ALL_CAPS"`},
		{name: "unknown base even with no adds or drops", env: kernel40,
			base: []string{"CAP_CHOWN", "nope"}, wantUnknown: true, wantErrText: `"nope"`},
		{name: "unknown add even when drops are all", env: kernel40,
			adds: []string{"perfmonx"}, drops: []string{"all"}, wantUnknown: true},
		{name: "perfmon on this kernel", env: kernel40,
			adds: []string{"perfmon"}, want: []string{capnames.Default().Name(perfmon)}},
		{name: "net_admin as numeral", env: kernel40,
			adds: []string{fmt.Sprint(int(netAdm))}, want: []string{"CAP_NET_ADMIN"}},
		{name: "bpf by name", env: kernel40,
			adds: []string{"bpf"}, want: []string{capnames.Default().Name(bpf)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mergeCaps(tt.base, tt.adds, tt.drops, tt.env)
			wantErr := tt.wantErr != nil || tt.wantUnknown
			if !wantErr {
				if err != nil {
					t.Fatalf("mergeCaps(%q, %q, %q) = error %v, want %q", tt.base, tt.adds, tt.drops, err, tt.want)
				}
				if got == nil || !slices.Equal(got, tt.want) {
					t.Fatalf("mergeCaps(%q, %q, %q) = %#v, want %#v", tt.base, tt.adds, tt.drops, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("mergeCaps(%q, %q, %q) = %q, want an error", tt.base, tt.adds, tt.drops, got)
			}
			if got != nil {
				t.Errorf("mergeCaps returned %q along with error %v", got, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if tt.wantUnknown {
				if !errors.Is(err, capnames.ErrUnknown) {
					t.Errorf("error %v does not wrap capnames.ErrUnknown", err)
				}
			} else if errors.Is(err, capnames.ErrUnknown) {
				t.Errorf("error %v wraps capnames.ErrUnknown for valid names", err)
			}
			if !strings.Contains(err.Error(), tt.wantErrText) {
				t.Errorf("error %q does not contain %q", err, tt.wantErrText)
			}
		})
	}
}

func TestNameIndex(t *testing.T) {
	x := capIndex()
	if x.seed == 0 {
		t.Error("no collision-free hash for the table: every entry takes capnames.Parse")
	}
	for _, c := range capnames.All() {
		name := c.String()
		for _, e := range []string{name, name[len("CAP_"):]} {
			if got, ok := x.lookup(e); !ok || got != c {
				t.Errorf("lookup(%q) = %v, %v; want %v, true", e, got, ok, c)
			}
		}
		for _, e := range []string{strings.ToLower(name), "CAP_" + name, name + "_", " " + name, fmt.Sprint(int(c))} {
			if got, ok := x.lookup(e); ok {
				t.Errorf("lookup(%q) = %v, true; want false (only exact canonical names)", e, got)
			}
		}
	}
	// Same length and the same hashed bytes as CAP_SETUID and
	// CAP_SYS_ADMIN: the hash matches, the comparison must not.
	for _, e := range []string{"", "C", "CAP_", "CAP", "_", "ALL", "CAP_SEXUID", "SYX_ADMIN"} {
		if got, ok := x.lookup(e); ok {
			t.Errorf("lookup(%q) = %v, true; want false", e, got)
		}
	}
	var names []string
	for _, c := range x.byRank {
		names = append(names, x.names[c])
		if x.byRank[x.rank[c]] != c {
			t.Errorf("rank and byRank disagree on %v", c)
		}
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != int(capnames.MaxCap)+1 {
		t.Errorf("byRank is not the string order of 64 distinct names: %q", names)
	}
	if got, want := sortedNames(capnames.SetOf(capnames.CAP_SYS_ADMIN, 41, capnames.CAP_AUDIT_READ, 5)),
		[]string{"41", "CAP_AUDIT_READ", "CAP_KILL", "CAP_SYS_ADMIN"}; !slices.Equal(got, want) {
		t.Errorf("sortedNames = %q, want %q", got, want)
	}
	// Against sorting the names, for sets of every density: runs of
	// consecutive ranks, the first and last rank, all 64, none.
	rng := rand.New(rand.NewPCG(1, 2))
	sets := []capnames.Set{0, ^capnames.Set(0), capnames.SetOf(x.byRank[0]), capnames.SetOf(x.byRank[capnames.MaxCap])}
	for range 2000 {
		sets = append(sets, capnames.Set(rng.Uint64()&rng.Uint64()), capnames.Set(rng.Uint64()|rng.Uint64()), capnames.Set(rng.Uint64()))
	}
	for _, s := range sets {
		var want []string
		for _, c := range s.Caps() {
			want = append(want, x.names[c])
		}
		slices.Sort(want)
		if got := sortedNames(s); !slices.Equal(got, want) || got == nil {
			t.Fatalf("sortedNames(%s) = %q, want %q", s.Bitmap(), got, want)
		}
	}
}

func TestMergeCapsBoundingOnlyForAddAll(t *testing.T) {
	probeErr := errors.New("bounding set unreadable")
	env := mergeEnv{last: 40, bounding: func() (capnames.Set, error) { return 0, probeErr }}
	got, err := mergeCaps([]string{"CAP_CHOWN"}, []string{"kill"}, []string{"all"}, env)
	if err != nil || !slices.Equal(got, []string{"CAP_KILL"}) {
		t.Errorf("drop all = %q, %v; want [CAP_KILL] without reading the bounding set", got, err)
	}
	got, err = mergeCaps([]string{"CAP_CHOWN"}, []string{"kill"}, []string{"chown"}, env)
	if err != nil || !slices.Equal(got, []string{"CAP_KILL"}) {
		t.Errorf("add and drop = %q, %v; want [CAP_KILL] without reading the bounding set", got, err)
	}
	if _, err := mergeCaps(nil, []string{"all"}, nil, env); !errors.Is(err, probeErr) {
		t.Errorf("add all with an unreadable bounding set: error %v, want one wrapping %v", err, probeErr)
	}
}

// mergeInput is one generated call.
type mergeInput struct{ base, adds, drops []string }

func (in mergeInput) String() string {
	return fmt.Sprintf("base=%q adds=%q drops=%q", in.base, in.adds, in.drops)
}

func (in mergeInput) lists() [][]string { return [][]string{in.base, in.adds, in.drops} }

// mapEntries returns in with f applied to every entry.
func (in mergeInput) mapEntries(f func(string) string) mergeInput {
	m := func(l []string) []string {
		if l == nil {
			return nil
		}
		out := make([]string, len(l))
		for i, e := range l {
			out[i] = f(e)
		}
		return out
	}
	return mergeInput{base: m(in.base), adds: m(in.adds), drops: m(in.drops)}
}

func (in mergeInput) any(f func(string) bool) bool {
	for _, l := range in.lists() {
		if slices.ContainsFunc(l, f) {
			return true
		}
	}
	return false
}

// inputGen draws inputs the way engines see them: a containers.conf
// default_capabilities base and --cap-add/--cap-drop lists typed by users.
type inputGen struct {
	r        *rand.Rand
	pool     []capnames.Cap // capabilities both this kernel and common know
	defaults []string       // containers.conf default_capabilities
}

// name writes c the way a user might: "CAP_SYS_ADMIN", "sys_admin",
// "Cap_Sys_Admin", "cAP_sYs_aDMIN", …
func (g *inputGen) name(c capnames.Cap) string {
	s := capnames.Default().Name(c)
	if g.r.IntN(2) == 0 {
		s = strings.TrimPrefix(s, "CAP_")
	}
	switch g.r.IntN(4) {
	case 0:
		return s
	case 1:
		return strings.ToLower(s)
	}
	b := []byte(s)
	for i := range b {
		if b[i] >= 'A' && b[i] <= 'Z' && g.r.IntN(2) == 0 {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// confusable writes a name with one letter replaced by a non-ASCII letter
// that Unicode upper-cases to it: ſ (U+017F) for s, ı (U+0131) for i.
func (g *inputGen) confusable() string {
	for {
		s := strings.ToLower(g.name(g.pool[g.r.IntN(len(g.pool))]))
		var idx []int
		for i := range len(s) {
			if s[i] == 's' || s[i] == 'i' {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			continue
		}
		i := idx[g.r.IntN(len(idx))]
		sub := "ſ"
		if s[i] == 'i' {
			sub = "ı"
		}
		return s[:i] + sub + s[i+1:]
	}
}

var (
	allSpellings = []string{"all", "ALL", "All", "aLl"}
	unknownNames = []string{
		"", "CAP_", "CAP_FOO", "NOT_A_CAP", " chown", "chown ", "CAP_CAP_CHOWN", "CAP_ALL",
		"ALL_CAPS", "all ", "64", "100", "-1", "039", "0x15", "CAP_21", "\u212aILL", "sys-admin",
	}
)

func (g *inputGen) entry(prev []string) string {
	switch n := g.r.IntN(100); {
	case n < 5:
		return allSpellings[g.r.IntN(len(allSpellings))]
	case n < 8:
		return fmt.Sprint(int(g.pool[g.r.IntN(len(g.pool))])) // deviation 1
	case n < 10:
		return g.confusable() // deviation 2
	case n < 13:
		return unknownNames[g.r.IntN(len(unknownNames))]
	case n < 20 && len(prev) > 0:
		return prev[g.r.IntN(len(prev))]
	}
	return g.name(g.pool[g.r.IntN(len(g.pool))])
}

func (g *inputGen) list(maxLen int) []string {
	if g.r.IntN(10) < 3 {
		return nil
	}
	l := make([]string, 0, maxLen)
	for range 1 + g.r.IntN(maxLen) {
		l = append(l, g.entry(l))
	}
	return l
}

func (g *inputGen) base() []string {
	switch n := g.r.IntN(100); {
	case n < 40:
		return slices.Clone(g.defaults)
	case n < 60: // the defaults as an administrator might write them
		var l []string
		for _, s := range g.defaults {
			if g.r.IntN(8) == 0 {
				continue
			}
			c, err := capnames.Parse(s)
			if err != nil {
				panic(err)
			}
			l = append(l, g.name(c))
		}
		g.r.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
		return l
	case n < 75:
		return nil
	case n < 90:
		var l []string
		for range g.r.IntN(len(g.pool)) {
			l = append(l, g.name(g.pool[g.r.IntN(len(g.pool))]))
		}
		return l
	}
	l := slices.Clone(g.defaults)
	switch g.r.IntN(5) {
	case 0:
		return append(l, allSpellings[g.r.IntN(len(allSpellings))])
	case 1:
		return append(l, fmt.Sprint(int(g.pool[g.r.IntN(len(g.pool))])))
	case 2:
		return append(l, g.confusable())
	case 3:
		return append(l, unknownNames[g.r.IntN(len(unknownNames))])
	}
	return append(l, l[g.r.IntN(len(l))])
}

func (g *inputGen) input() mergeInput {
	return mergeInput{base: g.base(), adds: g.list(6), drops: g.list(4)}
}

// commonMerge runs go.podman.io/common's MergeCapabilities on copies of in.
func commonMerge(in mergeInput) ([]string, error) {
	return capabilities.MergeCapabilities(slices.Clone(in.base), slices.Clone(in.adds), slices.Clone(in.drops))
}

// isNumeral reports whether e is a numeral ours accepts on this kernel.
func isNumeral(e string, last capnames.Cap) bool {
	c, err := capnames.Parse(e)
	return err == nil && e[0] >= '0' && e[0] <= '9' && c <= last
}

func isNonASCII(e string) bool {
	return strings.ContainsFunc(e, func(r rune) bool { return r >= 0x80 })
}

// TestMergeCapabilitiesDifferential runs go.podman.io/common's
// MergeCapabilities and ours on generated inputs against this process's real
// kernel and bounding set, and checks that they agree except where ours
// deviates on purpose, which it checks explicitly.
func TestMergeCapabilitiesDifferential(t *testing.T) {
	const inputs = 12000
	host, err := HostEnv()
	if err != nil {
		t.Fatal(err)
	}
	last, bounding := host.KernelLast, host.Bounding
	var commonKnows capnames.Set
	for _, s := range capabilities.AllCapabilities() {
		c, err := capnames.Parse(s)
		if err != nil {
			t.Fatalf("common's capability %q is not in our table: %v", s, err)
		}
		commonKnows.Add(c)
	}
	// Deviation 3: what the kernel has beyond moby/sys/capability's list.
	beyondCommon := capnames.UpTo(last).Minus(commonKnows)
	t.Logf("kernel last capability %d; bounding set %d capabilities; beyond common's list: %q",
		last, bounding.Len(), beyondCommon.Strings())

	g := &inputGen{r: rand.New(rand.NewPCG(2024, 3)), defaults: slices.Clone(podmanDefaults)}
	g.pool = append(g.pool, capnames.UpTo(last).Intersect(commonKnows).Caps()...)

	var n struct {
		compared, sameResult, bothError, dedup               int
		numerals, confusables, confusableAccepted, allInBase int
	}
	for range inputs {
		in := g.input()
		ours, oerr := MergeCapabilities(in.base, in.adds, in.drops)
		theirs, terr := commonMerge(in)
		n.compared++
		if oerr == nil {
			checkMergeResult(t, in, ours, bounding)
		}

		baseAll := slices.ContainsFunc(in.base, IsAll)
		if in.any(isNonASCII) || baseAll {
			// Deviation 2 and "all" in base: ours must reject.
			if oerr == nil || !errors.Is(oerr, capnames.ErrUnknown) {
				t.Fatalf("%v: ours = %q, %v; want an unknown-capability error", in, ours, oerr)
			}
			if baseAll {
				n.allInBase++
			}
			if in.any(isNonASCII) {
				n.confusables++
				folded := in.mapEntries(strings.NewReplacer("ſ", "s", "ı", "i").Replace)
				want, ferr := commonMerge(folded)
				if ferr == nil && !baseAll && !in.any(func(e string) bool { return isNumeral(e, last) }) {
					// common reads the confusable as the ASCII name.
					if terr != nil || !slices.Equal(theirs, want) {
						t.Fatalf("%v: common = %q, %v; want it to accept the confusable as %v: %q", in, theirs, terr, folded, want)
					}
					n.confusableAccepted++
				}
			}
			continue
		}

		// Deviation 1: numerals. common rejects them; ours must give what
		// common gives for the canonical names.
		if in.any(func(e string) bool { return isNumeral(e, last) }) {
			if terr == nil || !errors.Is(terr, capabilities.ErrUnknownCapability) {
				t.Fatalf("%v: common = %q, %v; want it to reject the numeral", in, theirs, terr)
			}
			n.numerals++
			in = in.mapEntries(func(e string) string {
				if isNumeral(e, last) {
					c, _ := capnames.Parse(e)
					return c.String()
				}
				return e
			})
			theirs, terr = commonMerge(in)
		}

		switch {
		case oerr != nil && terr != nil:
			if errors.Is(oerr, capnames.ErrUnknown) != errors.Is(terr, capabilities.ErrUnknownCapability) {
				t.Fatalf("%v: ours error %q, common error %q: not the same kind", in, oerr, terr)
			}
			if !errors.Is(oerr, capnames.ErrUnknown) && !errors.Is(oerr, ErrMergeConflict) {
				t.Fatalf("%v: ours error %q wraps neither sentinel", in, oerr)
			}
			n.bothError++
		case oerr != nil || terr != nil:
			t.Fatalf("%v:\nours   = %q, %v\ncommon = %q, %v", in, ours, oerr, theirs, terr)
		default:
			// common repeats duplicated entries; ours is a set.
			want := slices.Compact(slices.Clone(theirs))
			if len(want) != len(theirs) {
				n.dedup++
			}
			// Deviation 3: ours has "all" cover caps beyond common's list.
			got := slices.DeleteFunc(slices.Clone(ours), func(s string) bool {
				c, _ := capnames.Parse(s)
				return beyondCommon.Has(c)
			})
			if !slices.Equal(got, want) {
				t.Fatalf("%v:\nours   = %q\ncommon = %q", in, ours, theirs)
			}
			n.sameResult++
		}
	}
	t.Logf("compared %d inputs with go.podman.io/common: %d same result (%d of them once common's repeated entries are collapsed), %d both errors; "+
		"deviations checked: %d with numerals, %d with confusables (%d accepted by common), %d with \"all\" in base",
		n.compared, n.sameResult, n.dedup, n.bothError, n.numerals, n.confusables, n.confusableAccepted, n.allInBase)
	if n.compared < 10000 {
		t.Fatalf("compared only %d inputs, want at least 10000", n.compared)
	}
	// The generator must exercise every path, not just errors.
	for what, got := range map[string]int{
		"same result": n.sameResult / 40, "both errors": n.bothError / 5, "duplicates": n.dedup,
		"numerals": n.numerals, "confusables accepted by common": n.confusableAccepted, "all in base": n.allInBase,
	} {
		if got < 100 {
			t.Errorf("too few inputs with %s", what)
		}
	}
}

// checkMergeResult checks the invariants of a successful result: canonical
// names, sorted as strings, no duplicates, and nothing that was not asked
// for.
func checkMergeResult(t *testing.T, in mergeInput, got []string, bounding capnames.Set) {
	t.Helper()
	if got == nil {
		t.Fatalf("%v: nil result", in)
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("%v: result %q not sorted or has duplicates", in, got)
	}
	var asked capnames.Set
	for _, l := range in.lists()[:2] {
		for _, e := range l {
			if IsAll(e) {
				asked |= bounding
			} else if c, err := capnames.Parse(e); err == nil {
				asked.Add(c)
			}
		}
	}
	for _, s := range got {
		c, err := capnames.Parse(s)
		if err != nil || c.String() != s {
			t.Fatalf("%v: result entry %q is not canonical", in, s)
		}
		if !asked.Has(c) {
			t.Fatalf("%v: result has %s, which was not asked for", in, s)
		}
	}
}
