package e2e

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.podman.io/common/pkg/config"
)

// podmanDefaults returns containers.conf's default_capabilities as Podman
// reads them on this machine.
func podmanDefaults(t *testing.T) []string {
	t.Helper()
	cfg, err := config.Default()
	if err != nil {
		t.Fatalf("reading containers.conf: %v", err)
	}
	return cfg.Containers.DefaultCapabilities.Get()
}

// applyAndRun fills the capabilities of a base spec for user with
// plugin.Apply(req), checks that the runtime takes every entry and that the
// entries grant the report's Sets, runs the container, and checks that its
// five sets are the report's carried through execve. It returns the spec,
// the report and the sets observed.
func applyAndRun(t *testing.T, r ociRuntime, req plugin.Request, user specs.User) (*specs.Spec, *plugin.Report, plugin.Sets) {
	t.Helper()
	spec := baseSpec(user)
	rep, err := plugin.Apply(spec, req)
	if err != nil {
		t.Fatalf("plugin.Apply: %v", err)
	}
	caps := spec.Process.Capabilities
	t.Logf("%s: policy %v; bounding %s; effective %s; ambient %s; omitted %v; warnings %q",
		r.name, rep.Policy, summary(caps.Bounding), summary(caps.Effective), summary(caps.Ambient), omissions(rep), rep.Warnings)
	applied, dropped := r.specSets(caps, r.host.last)
	if dropped != "" {
		t.Errorf("plugin.Apply wrote entries %s drops:%s", r.name, dropped)
	}
	if d := diffSets(applied, rep.Sets); d != "" {
		t.Errorf("the entries grant other sets than the report's Sets:%s", d)
	}
	checkKernelLimits(t, rep.Sets, r.host.parent)
	got := runConfig(t, r, marshalSpec(t, spec))
	want := afterExec(rep.Sets, r.host.parent, user.UID, spec.Process.NoNewPrivileges)
	if d := diffSets(got, want); d != "" {
		t.Errorf("%s: the container's sets are not what the report grants:%s", r.name, d)
	}
	return spec, rep, got
}

// runConfig runs config in a new bundle with r and returns the container's
// five sets, logging them.
func runConfig(t *testing.T, r ociRuntime, config []byte) plugin.Sets {
	t.Helper()
	out := r.run(t, writeBundle(t, r.host, config))
	got, err := parseStatus(out)
	if err != nil {
		t.Fatalf("%s: container output: %v", r.name, err)
	}
	t.Logf("%s observed: %s", r.name, formatSets(got))
	return got
}

// summary shows a list of entries: short lists whole, long ones as their
// length and the entries that are not names.
func summary(entries []string) string {
	if len(entries) <= 12 {
		return fmt.Sprintf("%q", entries)
	}
	others := slices.DeleteFunc(slices.Clone(entries), func(e string) bool { return strings.HasPrefix(e, "CAP_") })
	return fmt.Sprintf("%d entries, not names: %q", len(entries), others)
}

// omissions returns the report's omissions as "NAME:reason".
func omissions(rep *plugin.Report) []string {
	var out []string
	for _, o := range rep.Omitted {
		out = append(out, o.Name+":"+o.Reason.String())
	}
	return out
}

// checkReport checks that rep grants exactly want and leaves out each other
// requested capability once, with the reason reasons gives for it.
func checkReport(t *testing.T, rep *plugin.Report, want capnames.Set, reasons func(capnames.Cap) plugin.Reason) {
	t.Helper()
	if rep.Granted != want || rep.Sets.Bounding != want {
		t.Errorf("report grants %v (bounding %v), want %v", rep.Granted.Strings(), rep.Sets.Bounding.Strings(), want.Strings())
	}
	var omitted capnames.Set
	for _, o := range rep.Omitted {
		if omitted.Has(o.Cap) {
			t.Errorf("report leaves out %s twice", o.Name)
		}
		omitted.Add(o.Cap)
		if r := reasons(o.Cap); o.Reason != r {
			t.Errorf("report leaves out %s as %v (%s), want %v", o.Name, o.Reason, o.Text, r)
		}
		if o.Text == "" {
			t.Errorf("report leaves out %s without a text", o.Name)
		}
	}
	if omitted != rep.Requested.Minus(want) {
		t.Errorf("report leaves out %v, want %v", omitted.Strings(), rep.Requested.Minus(want).Strings())
	}
}

// boundingReason is the reason for a request within the kernel whose only
// omissions are capabilities outside the bounding set.
func boundingReason(capnames.Cap) plugin.Reason { return plugin.NotInBoundingSet }

// applies returns what r can apply on this host: the kernel's capabilities
// within this process's bounding set that r names, or all of them for a
// runtime that takes numerals.
func (r ociRuntime) applies() capnames.Set {
	all := r.host.kernel.Intersect(r.host.parent.Bounding)
	if r.numerals {
		return all
	}
	return all.Intersect(r.names)
}

// reason is why a request within the kernel leaves c out for r: outside
// the bounding set, or unknown to r.
func (r ociRuntime) reason(c capnames.Cap) plugin.Reason {
	if !r.host.parent.Bounding.Has(c) {
		return plugin.NotInBoundingSet
	}
	return plugin.UnknownToRuntime
}

// noEntry fails t when a list of caps holds entry.
func noEntry(t *testing.T, caps *specs.LinuxCapabilities, entry string) {
	t.Helper()
	for _, l := range [][]string{caps.Bounding, caps.Effective, caps.Inheritable, caps.Permitted, caps.Ambient} {
		if slices.Contains(l, entry) {
			t.Errorf("process.capabilities holds %q: %+v", entry, caps)
			return
		}
	}
}

var policies = []plugin.Policy{plugin.Auto, plugin.Names, plugin.Numeric, plugin.AllCaps}

// --cap-add=all under each policy: every capability of the kernel in the
// bounding set that the runtime applies, in the form it takes; all-caps
// falls back, since no runtime of the matrix advertises ALL_CAPS.
func TestE2ECapAddAll(t *testing.T) {
	_, rts := setup(t)
	for _, r := range rts {
		f := r.features(t)
		t.Logf("%s features: %+v", r.name, *f)
		for _, p := range policies {
			t.Run(r.name+"/"+p.String(), func(t *testing.T) {
				spec, rep, got := applyAndRun(t, r, plugin.Request{Adds: []string{"all"}, Policy: p, Runtime: f}, root)
				checkReport(t, rep, r.applies(), r.reason)
				if got.Bounding != r.applies() {
					t.Errorf("container: CapBnd %s, want kernel ∩ bounding set ∩ %s: %s", got.Bounding.Bitmap(), r.name, r.applies().Bitmap())
				}
				if !rep.All {
					t.Error("report: All is false for --cap-add=all")
				}
				noEntry(t, spec.Process.Capabilities, capnames.AllCaps)
				if p != plugin.AllCaps {
					return
				}
				if f.AllCaps {
					t.Fatalf("%s advertises ALL_CAPS; this case expects a runtime that does not", r.name)
				}
				if rep.Policy == plugin.AllCaps {
					t.Errorf("report: policy all-caps applied for %s, which does not advertise ALL_CAPS", r.name)
				}
				if !slices.ContainsFunc(rep.Warnings, func(w string) bool {
					return strings.Contains(w, "all-caps") && strings.Contains(w, "ALL_CAPS")
				}) {
					t.Errorf("report: no warning about the all-caps fallback in %q", rep.Warnings)
				}
			})
		}
	}
}

// --privileged: the same as --cap-add=all, whatever the defaults.
func TestE2EPrivileged(t *testing.T) {
	_, rts := setup(t)
	for _, r := range rts {
		t.Run(r.name, func(t *testing.T) {
			req := plugin.Request{Privileged: true, Defaults: podmanDefaults(t), Runtime: r.features(t)}
			_, rep, _ := applyAndRun(t, r, req, root)
			checkReport(t, rep, r.applies(), r.reason)
		})
	}
}

// parseAll parses capability names as the CLI takes them.
func parseAll(t *testing.T, names ...string) capnames.Set {
	t.Helper()
	var s capnames.Set
	for _, n := range names {
		c, err := capnames.Parse(n)
		if err != nil {
			t.Fatal(err)
		}
		s.Add(c)
	}
	return s
}

// containers.conf defaults with --cap-add and --cap-drop, one add outside
// this host's bounding set when it lacks CAP_SYS_RESOURCE.
func TestE2EDefaultsAddsDrops(t *testing.T) {
	h, rts := setup(t)
	adds := []string{"net_raw", "CAP_SYS_PTRACE", "sys_resource", "bpf"}
	drops := []string{"chown", "CAP_KILL"}
	for _, r := range rts {
		t.Run(r.name, func(t *testing.T) {
			defaults := podmanDefaults(t)
			req := plugin.Request{Defaults: defaults, Adds: adds, Drops: drops, Runtime: r.features(t)}
			_, rep, _ := applyAndRun(t, r, req, root)
			requested := parseAll(t, defaults...).Union(parseAll(t, adds...)).Minus(parseAll(t, drops...))
			checkReport(t, rep, requested.Intersect(h.kernel).Intersect(r.applies()), r.reason)
		})
	}
}

// --cap-drop=all --cap-add=net_bind_service: that one capability alone.
func TestE2EDropAllAddOne(t *testing.T) {
	h, rts := setup(t)
	for _, r := range rts {
		t.Run(r.name, func(t *testing.T) {
			req := plugin.Request{Defaults: podmanDefaults(t), Adds: []string{"net_bind_service"},
				Drops: []string{"all"}, Runtime: r.features(t)}
			_, rep, _ := applyAndRun(t, r, req, root)
			want := capnames.SetOf(capnames.CAP_NET_BIND_SERVICE).Intersect(h.parent.Bounding)
			checkReport(t, rep, want, boundingReason)
		})
	}
}

// --user 1000 --cap-add net_bind_service: as Podman, the explicit add goes
// to effective, permitted, inheritable and ambient; after execve of a
// program without file capabilities the kernel gives a non-root process
// the ambient set as permitted and effective, so the capability is
// effective in the container.
func TestE2ENonRootUser(t *testing.T) {
	h, rts := setup(t)
	netBind := capnames.SetOf(capnames.CAP_NET_BIND_SERVICE)
	if !h.parent.Bounding.Has(capnames.CAP_NET_BIND_SERVICE) {
		unavailable(t, "this process's bounding set lacks CAP_NET_BIND_SERVICE")
	}
	for _, r := range rts {
		t.Run(r.name, func(t *testing.T) {
			defaults := podmanDefaults(t)
			req := plugin.Request{Defaults: defaults, Adds: []string{"net_bind_service"}, User: "1000", Runtime: r.features(t)}
			_, rep, got := applyAndRun(t, r, req, specs.User{UID: 1000, GID: 1000})
			want := parseAll(t, defaults...).Union(netBind).Intersect(h.parent.Bounding)
			checkReport(t, rep, want, boundingReason)
			s := rep.Sets
			if s.Effective != netBind || s.Permitted != netBind || s.Inheritable != netBind || s.Ambient != netBind {
				t.Errorf("report: user 1000 gets effective %v, permitted %v, inheritable %v, ambient %v; want CAP_NET_BIND_SERVICE in each",
					s.Effective.Strings(), s.Permitted.Strings(), s.Inheritable.Strings(), s.Ambient.Strings())
			}
			if got.Effective != netBind || got.Ambient != netBind {
				t.Errorf("container: CapEff %v, CapAmb %v; want CAP_NET_BIND_SERVICE in both", got.Effective.Strings(), got.Ambient.Strings())
			}
		})
	}
}

// newerThan37 returns the capabilities above CAP_AUDIT_READ (37) that the
// kernel has and the bounding set holds, or skips t when there are none.
func newerThan37(t *testing.T, h host) capnames.Set {
	t.Helper()
	newer := h.kernel.Intersect(h.parent.Bounding).Minus(capnames.UpTo(capnames.CAP_AUDIT_READ))
	if newer == 0 {
		unavailable(t, "this kernel (last capability %d) or bounding set has no capability above 37", h.last)
	}
	return newer
}

// The plugin with a table generated from a 3.16 header (last capability
// 37) on this kernel: crun, which takes numerals, is given the capabilities
// above 37 as numerals and grants them; runc, which takes none, is not
// given them, the report says so, and the container starts.
func TestE2ETableOlderThanKernel(t *testing.T) {
	h, rts := setup(t)
	newer := newerThan37(t, h)
	env := h.env
	env.Table = capnames.Default().UpTo(capnames.CAP_AUDIT_READ)
	all := h.kernel.Intersect(h.parent.Bounding)
	for _, r := range rts {
		t.Run(r.name, func(t *testing.T) {
			f := r.features(t)
			spec, rep, got := applyAndRun(t, r, plugin.Request{Adds: []string{"all"}, Runtime: f, Env: env}, root)
			bounding := spec.Process.Capabilities.Bounding
			if !r.numerals {
				checkReport(t, rep, all.Minus(newer), func(c capnames.Cap) plugin.Reason {
					if newer.Has(c) {
						return plugin.Unnamed
					}
					return plugin.NotInBoundingSet
				})
				if got.Bounding.Intersect(newer) != 0 {
					t.Errorf("container: CapBnd holds %v", got.Bounding.Intersect(newer).Strings())
				}
				return
			}
			checkReport(t, rep, all, boundingReason)
			for _, c := range newer.Caps() {
				if !slices.Contains(bounding, strconv.Itoa(int(c))) {
					t.Errorf("bounding entries %q lack the numeral for %s", bounding, c)
				}
			}
			if got.Bounding.Intersect(newer) != newer || got.Effective.Intersect(newer) != newer {
				t.Errorf("container: CapBnd %v, CapEff %v; want both to hold %v", got.Bounding.Strings(), got.Effective.Strings(), newer.Strings())
			}
		})
	}
}
