package plugin

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// propGen draws random requests, machines and runtimes for the property
// tests of Apply.
type propGen struct{ rng *rand.Rand }

// env returns a kernel whose last capability is 30..63, a bounding set
// within it (full, random or nearly empty) and a table cut anywhere up to
// the generated one's last capability.
func (g propGen) env() Env {
	last := capnames.Cap(30 + g.rng.IntN(34))
	kernel := capnames.UpTo(last)
	bounding := kernel
	switch g.rng.IntN(4) {
	case 0:
		bounding &= capnames.Set(g.rng.Uint64())
	case 1:
		bounding &= capnames.Set(g.rng.Uint64() & g.rng.Uint64() & g.rng.Uint64())
	case 2:
		bounding.Remove(capnames.Cap(g.rng.IntN(int(last) + 1)))
	}
	table := capnames.Default()
	if g.rng.IntN(2) == 0 {
		table = fuzzTables[g.rng.IntN(len(fuzzTables))]
	}
	return Env{Table: table, KernelLast: last, Bounding: bounding}
}

// runtime returns nil, a runtime whose features are unknown, or one that
// lists a random subset of the generated table's names, perhaps with
// ALL_CAPS and names no runtime should list, and that may take numerals.
func (g propGen) runtime() *Features {
	switch g.rng.IntN(8) {
	case 0:
		return nil
	case 1:
		return &Features{Runtime: "/usr/bin/crun", Unknown: true, Reason: "unknown command features", Numerals: g.rng.IntN(2) == 0}
	case 2:
		return fuzzRuntimes[g.rng.IntN(len(fuzzRuntimes))]
	}
	f := &Features{Version: "prop " + strconv.Itoa(g.rng.IntN(100)), Names: []string{}, Numerals: g.rng.IntN(2) == 0}
	keep := g.rng.Float64()
	for _, c := range capnames.All() {
		if g.rng.Float64() < keep {
			f.Names = append(f.Names, c.String())
		}
	}
	if g.rng.IntN(3) == 0 {
		f.Names = append(f.Names, capnames.AllCaps)
		f.AllCaps = true
	}
	if g.rng.IntN(4) == 0 {
		f.Names = append(f.Names, "cap_sys_admin", "41", "CAP_NOPE", "")
	}
	g.rng.Shuffle(len(f.Names), func(i, j int) { f.Names[i], f.Names[j] = f.Names[j], f.Names[i] })
	return f
}

// entry returns a spelling of a random capability, mostly one of the
// kernel's, sometimes "all", rarely one that is not a capability here.
func (g propGen) entry(last capnames.Cap) string {
	switch g.rng.IntN(60) {
	case 0:
		return []string{"all", "ALL", "All"}[g.rng.IntN(3)]
	case 1:
		return []string{"CAP_NOPE", "ſys_admin", " kill", "07", "64", "", "ALL_CAPS", "-1"}[g.rng.IntN(8)]
	case 2:
		return strconv.Itoa(int(last) + 1 + g.rng.IntN(64-int(last)))
	}
	c := capnames.Cap(g.rng.IntN(int(min(last, capnames.Last+3)) + 1))
	if !c.Known() || g.rng.IntN(5) == 0 {
		return strconv.Itoa(int(c))
	}
	name := c.String()
	switch g.rng.IntN(4) {
	case 0:
		return strings.ToLower(name)
	case 1:
		return strings.TrimPrefix(name, "CAP_")
	case 2:
		return "Cap_" + strings.ToLower(strings.TrimPrefix(name, "CAP_"))
	}
	return name
}

func (g propGen) list(last capnames.Cap, max int) []string {
	n := g.rng.IntN(max + 1)
	if n == 0 && g.rng.IntN(2) == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = g.entry(last)
	}
	return l
}

var propUsers = []string{"", "root", "0", "0:0", "root:wheel", ":1000", "1000", "1000:1000", "nobody:nogroup", "rootless", "00"}

func (g propGen) request(env Env) Request {
	req := Request{
		Privileged: g.rng.IntN(8) == 0,
		Adds:       g.list(env.KernelLast, 4),
		Drops:      g.list(env.KernelLast, 3),
		User:       propUsers[g.rng.IntN(len(propUsers))],
		Policy:     Policy(g.rng.IntN(4)),
		Runtime:    g.runtime(),
		Env:        env,
	}
	switch g.rng.IntN(3) {
	case 0:
		req.Defaults = slices.Clone(propPodmanDefaults)
	case 1:
		req.Defaults = g.list(env.KernelLast, 6)
		if i := slices.IndexFunc(req.Defaults, propIsAll); i >= 0 && g.rng.IntN(4) != 0 {
			req.Defaults[i] = "CAP_CHOWN" // "all" in defaults is an error; keep most requests valid
		}
	}
	switch g.rng.IntN(5) {
	case 0:
		req.ImageLabel = ptr(strings.Join(g.list(env.KernelLast, 3), ","))
	case 1:
		req.ImageLabel = ptr("")
	}
	return req
}

// propPodmanDefaults is containers.conf's default_capabilities as
// go.podman.io/common ships it.
var propPodmanDefaults = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"}

func propIsAll(s string) bool {
	return len(s) == 3 && strings.ToLower(s) == "all" // ASCII only: no Unicode folding
}

// propModel is the request Apply should compute, worked out here from
// Podman's rules as Apply documents them and not from Apply's code:
// requested is the bounding list before the kernel's bounding set applies,
// user the non-root user's capabilities (its cap-adds), and err whether
// the request is invalid.
type propModel struct {
	requested, user capnames.Set
	err             string
}

func modelRequest(req Request) propModel {
	env := req.Env
	kernel := capnames.UpTo(env.KernelLast)
	parse := func(what string, list []string, allowAll bool) (capnames.Set, bool, string) {
		var s capnames.Set
		all := false
		for _, e := range list {
			if allowAll && propIsAll(e) {
				all = true
				continue
			}
			c, err := capnames.Parse(e)
			if err != nil || c > env.KernelLast {
				return 0, false, fmt.Sprintf("%s entry %q", what, e)
			}
			s.Add(c)
		}
		return s, all, ""
	}
	base, _, err := parse("default", req.Defaults, false)
	if err != "" {
		return propModel{err: err}
	}
	merged := base
	if len(req.Adds) > 0 || len(req.Drops) > 0 {
		drops, dropAll, err := parse("cap-drop", req.Drops, true)
		if err != "" {
			return propModel{err: err}
		}
		adds, addAll, err := parse("cap-add", req.Adds, true)
		switch {
		case err != "":
			return propModel{err: err}
		case addAll && dropAll:
			return propModel{err: "all added and dropped"}
		case dropAll:
			merged = adds
		case addAll:
			merged = kernel.Minus(drops)
		case adds&drops != 0:
			return propModel{err: "added and dropped"}
		default:
			merged = base.Minus(drops).Union(adds)
		}
	}
	m := propModel{requested: merged}
	if req.Privileged {
		m.requested = kernel
	} else if req.ImageLabel != nil && *req.ImageLabel != "" {
		label, all, err := parse("label", strings.Split(*req.ImageLabel, ","), true)
		if err != "" {
			return propModel{err: err}
		}
		if all {
			label = kernel.Intersect(env.Bounding)
		}
		if label.Minus(merged.Intersect(env.Bounding)) == 0 {
			m.requested = label
		}
	} else if req.ImageLabel != nil {
		m.requested = 0
	}
	if !isRootUser(req.User) {
		adds, all, _ := parse("cap-add", req.Adds, true)
		if all {
			adds = kernel
		}
		m.user = adds
	}
	return m
}

// isRootUser is Podman's test: the user part of user:group is "", "root"
// or "0" (not "00").
func isRootUser(user string) bool {
	name, _, _ := strings.Cut(user, ":")
	return name == "" || name == "root" || name == "0"
}

// runtimeAccepts returns the capabilities the runtime can be given some
// entry for on this kernel: the names it lists (the table's, when its
// features are unknown), every capability when it takes numerals, and the
// kernel within the bounding set when it takes ALL_CAPS.
func runtimeAccepts(f *Features, env Env) capnames.Set {
	last := env.KernelLast
	var s capnames.Set
	for c := range last + 1 {
		entries := []string{strconv.Itoa(int(c))}
		if c.Known() {
			entries = append(entries, c.String())
		}
		for _, e := range entries {
			if got, _ := asRuntimeReads(f, []string{e}, env); got.Has(c) {
				s.Add(c)
			}
		}
	}
	if all, _ := asRuntimeReads(f, []string{capnames.AllCaps}, env); all != 0 {
		s |= all
	}
	return s
}

// TestApplyProperties applies thousands of random requests on random
// machines to random runtimes and checks, for each, the properties that
// keep a container from gaining privileges: what is granted is within
// what was requested, the kernel, the bounding set and what the runtime
// accepts; the entries of every list, read as the runtime reads them,
// grant exactly what the report says; root gets no inheritable or ambient
// capabilities; another user's ambient capabilities come from its own
// cap-adds; and the report accounts for every requested capability once.
func TestApplyProperties(t *testing.T) {
	g := propGen{rand.New(rand.NewPCG(20261128, 5))}
	const n = 30000
	applied := 0
	for i := range n {
		env := g.env()
		req := g.request(env)
		want := modelRequest(req)
		spec := &specs.Spec{Process: &specs.Process{Cwd: "/",
			Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_SYS_ADMIN"}}}}
		r, err := Apply(spec, req)
		if want.err != "" || err != nil {
			checkApplyRejects(t, req, want, spec, r, err)
		} else {
			applied++
			checkApplyProperties(t, req, want, spec, r)
		}
		if t.Failed() {
			t.Fatalf("request %d: %s", i, describeRequest(req))
		}
	}
	if applied < n/2 {
		t.Errorf("only %d of %d random requests were valid; the generator is off", applied, n)
	}
	t.Logf("%d of %d random requests applied and checked, the others rejected as the model predicts", applied, n)
}

func describeRequest(req Request) string {
	label := "<none>"
	if req.ImageLabel != nil {
		label = strconv.Quote(*req.ImageLabel)
	}
	return fmt.Sprintf("privileged=%v defaults=%q adds=%q drops=%q user=%q label=%s policy=%v runtime=%+v env{table last %d, kernel last %d, bounding %v}",
		req.Privileged, req.Defaults, req.Adds, req.Drops, req.User, label, req.Policy, req.Runtime,
		req.Env.Table.Last(), req.Env.KernelLast, req.Env.Bounding.Strings())
}

func checkApplyRejects(t *testing.T, req Request, want propModel, spec *specs.Spec, r *Report, err error) {
	t.Helper()
	switch {
	case want.err == "":
		t.Errorf("Apply failed on a valid request: %v", err)
	case err == nil:
		t.Errorf("Apply accepted an invalid request (%s): report %+v", want.err, r)
	case !errors.Is(err, ErrInvalidRequest):
		t.Errorf("error %v does not wrap ErrInvalidRequest", err)
	case r != nil:
		t.Errorf("report %+v returned with error %v", r, err)
	case !slices.Equal(spec.Process.Capabilities.Bounding, []string{"CAP_SYS_ADMIN"}):
		t.Errorf("spec changed on error %v: %+v", err, spec.Process.Capabilities)
	}
}

func checkApplyProperties(t *testing.T, req Request, want propModel, spec *specs.Spec, r *Report) {
	t.Helper()
	env := req.Env
	kernel := capnames.UpTo(env.KernelLast)
	if r.Requested != want.requested {
		t.Errorf("requested %v, model says %v", r.Requested.Strings(), want.requested.Strings())
	}
	// The report accounts for every requested capability exactly once,
	// with a reason that holds.
	accounted := r.Granted
	for _, o := range r.Omitted {
		if accounted.Has(o.Cap) || !r.Requested.Has(o.Cap) {
			t.Errorf("omission %+v: already accounted for, or not requested", o)
		}
		accounted.Add(o.Cap)
		inKernel, inBounding := kernel.Has(o.Cap), env.Bounding.Has(o.Cap)
		if ok := map[Reason]bool{NotInKernel: !inKernel, NotInBoundingSet: inKernel && !inBounding,
			UnknownToRuntime: inKernel && inBounding, Unnamed: inKernel && inBounding}[o.Reason]; !ok || o.Text == "" {
			t.Errorf("omission %+v: reason does not hold", o)
		}
	}
	if accounted != r.Requested {
		t.Errorf("granted and omitted account for %v, requested %v", accounted.Strings(), r.Requested.Strings())
	}
	// Granted ⊆ requested ∩ kernel ∩ bounding ∩ runtime-accepted.
	limit := want.requested.Intersect(kernel).Intersect(env.Bounding).Intersect(runtimeAccepts(req.Runtime, env))
	if beyond := r.Granted.Minus(limit); beyond != 0 {
		t.Errorf("granted %v beyond requested ∩ kernel ∩ bounding ∩ runtime", beyond.Strings())
	}
	// The entries, read as the runtime reads them, grant what the report
	// says and nothing it would ignore.
	c := spec.Process.Capabilities
	sets := [5]capnames.Set{r.Sets.Bounding, r.Sets.Effective, r.Sets.Inheritable, r.Sets.Permitted, r.Sets.Ambient}
	for i, entries := range capListsOf(c) {
		got, ignored := asRuntimeReads(req.Runtime, entries, env)
		if entries == nil || len(ignored) > 0 {
			t.Errorf("%s %q: nil, or entries the runtime ignores: %q", capListNames[i], entries, ignored)
		}
		if got != sets[i] {
			t.Errorf("%s %q grants %v as the runtime reads it, report says %v", capListNames[i], entries, got.Strings(), sets[i].Strings())
		}
		if got.Minus(r.Granted) != 0 {
			t.Errorf("%s grants %v beyond the bounding list", capListNames[i], got.Minus(r.Granted).Strings())
		}
	}
	if r.Sets.Bounding != r.Granted {
		t.Errorf("bounding %v, granted %v", r.Sets.Bounding.Strings(), r.Granted.Strings())
	}
	s := r.Sets
	if isRootUser(req.User) {
		if len(c.Inheritable) != 0 || len(c.Ambient) != 0 || s.Effective != s.Bounding || s.Permitted != s.Bounding {
			t.Errorf("root: inheritable %q, ambient %q, sets %+v; want none inheritable or ambient, effective = permitted = bounding",
				c.Inheritable, c.Ambient, s)
		}
		return
	}
	if userWant := want.user.Intersect(r.Granted); s.Ambient != userWant || s.Effective != userWant ||
		s.Permitted != userWant || s.Inheritable != userWant {
		t.Errorf("user %q: sets %+v; want effective = permitted = inheritable = ambient = cap-add ∩ granted = %v",
			req.User, s, userWant.Strings())
	}
}
