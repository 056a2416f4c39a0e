package plugin

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/opencontainers/runtime-spec/specs-go"
	"go.podman.io/common/pkg/config"
)

// podmanDefaults is containers.conf's built-in default_capabilities, as
// go.podman.io/common defines it.
var podmanDefaults = slices.Clone(config.DefaultCapabilities)

func setOfNames(t *testing.T, names ...string) capnames.Set {
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

func TestApply(t *testing.T) {
	var (
		all40    = capnames.UpTo(40)
		sysRes   = capnames.SetOf(capnames.CAP_SYS_RESOURCE)
		newCaps  = capnames.SetOf(capnames.CAP_PERFMON, capnames.CAP_BPF, capnames.CAP_CHECKPOINT_RESTORE)
		defaults = setOfNames(t, podmanDefaults...)
		netBind  = capnames.SetOf(capnames.CAP_NET_BIND_SERVICE)
	)
	tests := []struct {
		name string
		req  Request
		// Wanted sets; inheritable, permitted and ambient are checked
		// against effective and bounding by checkApply.
		bounding, effective, ambient capnames.Set
		policy                       Policy
		omitted                      []string // "cap:reason"
		warning                      string   // substring of the only warning
		entries                      []string // bounding entries, when checked literally
	}{
		{name: "host, cap-add all, runc",
			req:      Request{Adds: []string{"all"}, Runtime: rtRunc, Env: envHost},
			bounding: all40.Minus(sysRes), effective: all40.Minus(sysRes), policy: Names,
			omitted: []string{"24:not-in-bounding-set"}},
		{name: "host, defaults",
			req:      Request{Defaults: podmanDefaults, Runtime: rtRunc, Env: envHost},
			bounding: defaults, effective: defaults, policy: Names, entries: defaults.Strings()},
		{name: "defaults + adds - drops",
			req: Request{Defaults: podmanDefaults, Adds: []string{"net_admin", "CAP_SYS_RESOURCE", "39"},
				Drops: []string{"kill", "Cap_Setfcap"}, Runtime: rtRunc, Env: envHost},
			bounding: defaults.Union(capnames.SetOf(capnames.CAP_NET_ADMIN, capnames.CAP_BPF)).
				Minus(capnames.SetOf(capnames.CAP_KILL, capnames.CAP_SETFCAP)),
			effective: defaults.Union(capnames.SetOf(capnames.CAP_NET_ADMIN, capnames.CAP_BPF)).
				Minus(capnames.SetOf(capnames.CAP_KILL, capnames.CAP_SETFCAP)),
			policy: Names, omitted: []string{"24:not-in-bounding-set"}},
		{name: "kernel newer than the table, runc",
			req:      Request{Adds: []string{"ALL"}, Runtime: rtRunc, Env: envOldTable},
			bounding: capnames.UpTo(37), effective: capnames.UpTo(37), policy: Names,
			omitted: []string{"38:unnamed", "39:unnamed", "40:unnamed"}},
		{name: "kernel newer than the table, crun numerals",
			req:      Request{Adds: []string{"all"}, Runtime: rtCrun, Env: envOldTable},
			bounding: all40, effective: all40, policy: Numeric,
			entries: append(namesUpTo(37), "38", "39", "40")},
		{name: "kernel newer than the table, crun 1.8.1 without features",
			req:      Request{Adds: []string{"all"}, Runtime: rtCrun181, Env: envOldTable.withBounding(envHost.Bounding)},
			bounding: all40.Minus(sysRes), effective: all40.Minus(sysRes), policy: Numeric,
			omitted: []string{"24:not-in-bounding-set"}, warning: "entries unverified for runtime crun 1.8.1",
			entries: append(slices.Delete(namesUpTo(37), 24, 25), "38", "39", "40")},
		{name: "runtime older than the kernel",
			req:      Request{Adds: []string{"all"}, Runtime: rtRuncPre58, Env: envHost},
			bounding: all40.Minus(sysRes).Minus(newCaps), effective: all40.Minus(sysRes).Minus(newCaps), policy: Names,
			omitted: []string{"24:not-in-bounding-set", "38:unknown-to-runtime", "39:unknown-to-runtime", "40:unknown-to-runtime"}},
		{name: "crun-like numerals for what it cannot name",
			req:      Request{Adds: []string{"all"}, Runtime: rtCrunPre58, Env: envHost},
			bounding: all40.Minus(sysRes), effective: all40.Minus(sysRes), policy: Numeric,
			omitted: []string{"24:not-in-bounding-set"},
			entries: append(slices.Delete(namesUpTo(37), 24, 25), "38", "39", "40")},
		{name: "all-caps runtime, full bounding set",
			req:      Request{Adds: []string{"all"}, Runtime: rtAllCaps, Env: envFull},
			bounding: all40, effective: all40, policy: AllCaps, entries: []string{"ALL_CAPS"}},
		{name: "all-caps runtime, partial bounding set",
			req:      Request{Adds: []string{"all"}, Runtime: rtAllCaps, Env: envHost, Policy: AllCaps},
			bounding: all40.Minus(sysRes), effective: all40.Minus(sysRes), policy: AllCaps, entries: []string{"ALL_CAPS"},
			omitted: []string{"24:not-in-bounding-set"}},
		{name: "all-caps runtime, privileged",
			req:      Request{Privileged: true, Runtime: rtAllCaps, Env: envFull},
			bounding: all40, effective: all40, policy: AllCaps, entries: []string{"ALL_CAPS"}},
		{name: "all-caps runtime, defaults are not all",
			req:      Request{Defaults: podmanDefaults, Runtime: rtAllCaps, Env: envFull},
			bounding: defaults, effective: defaults, policy: Names},
		{name: "privileged",
			req:      Request{Privileged: true, Defaults: podmanDefaults, Drops: []string{"net_raw"}, Runtime: rtRunc, Env: envHost},
			bounding: all40.Minus(sysRes), effective: all40.Minus(sysRes), policy: Names,
			omitted: []string{"24:not-in-bounding-set"}},
		{name: "cap-drop all, cap-add net_bind_service",
			req:      Request{Defaults: podmanDefaults, Drops: []string{"all"}, Adds: []string{"net_bind_service"}, Runtime: rtRunc, Env: envHost},
			bounding: netBind, effective: netBind, policy: Names, entries: []string{"CAP_NET_BIND_SERVICE"}},
		{name: "cap-drop all",
			req:    Request{Defaults: podmanDefaults, Drops: []string{"ALL"}, Runtime: rtRunc, Env: envHost},
			policy: Names, entries: []string{}},
		{name: "non-root user with adds",
			req: Request{Defaults: podmanDefaults, Adds: []string{"net_bind_service", "sys_resource", "net_admin"},
				User: "1000", Runtime: rtRunc, Env: envHost},
			bounding:  defaults.Union(capnames.SetOf(capnames.CAP_NET_ADMIN)),
			effective: capnames.SetOf(capnames.CAP_NET_BIND_SERVICE, capnames.CAP_NET_ADMIN),
			ambient:   capnames.SetOf(capnames.CAP_NET_BIND_SERVICE, capnames.CAP_NET_ADMIN),
			policy:    Names, omitted: []string{"24:not-in-bounding-set"}},
		{name: "non-root user:group without adds",
			req:      Request{Defaults: podmanDefaults, User: "nobody:nogroup", Runtime: rtRunc, Env: envHost},
			bounding: defaults, policy: Names},
		{name: "root:group is root",
			req:      Request{Defaults: podmanDefaults, User: "root:wheel", Runtime: rtRunc, Env: envHost},
			bounding: defaults, effective: defaults, policy: Names},
		{name: "0:0 is root",
			req:      Request{Defaults: podmanDefaults, User: "0:0", Runtime: rtRunc, Env: envHost},
			bounding: defaults, effective: defaults, policy: Names},
		{name: ":1000 is root",
			req:      Request{Defaults: podmanDefaults, User: ":1000", Runtime: rtRunc, Env: envHost},
			bounding: defaults, effective: defaults, policy: Names},
		{name: "keep-id without user is not root",
			req:      Request{Defaults: podmanDefaults, Adds: []string{"net_bind_service"}, KeepID: true, Runtime: rtRunc, Env: envHost},
			bounding: defaults, effective: netBind, ambient: netBind, policy: Names},
		{name: "keep-id with :group is not root",
			req:      Request{Defaults: podmanDefaults, User: ":1000", KeepID: true, Runtime: rtRunc, Env: envHost},
			bounding: defaults, policy: Names},
		{name: "keep-id with user 0 is root",
			req:      Request{Defaults: podmanDefaults, User: "0", KeepID: true, Runtime: rtRunc, Env: envHost},
			bounding: defaults, effective: defaults, policy: Names},
		{name: "keep-id with user root is root",
			req:      Request{Defaults: podmanDefaults, User: "root:root", KeepID: true, Runtime: rtRunc, Env: envHost},
			bounding: defaults, effective: defaults, policy: Names},
		{name: "non-root user, cap-add all, all-caps runtime",
			req:      Request{Adds: []string{"all"}, User: "1000", Runtime: rtAllCaps, Env: envFull},
			bounding: all40, effective: all40, ambient: all40, policy: AllCaps, entries: []string{"ALL_CAPS"}},
		{name: "non-root user, privileged with one add, all-caps runtime falls back",
			req:      Request{Privileged: true, Adds: []string{"net_bind_service"}, User: "1000", Runtime: rtAllCaps, Env: envFull},
			bounding: all40, effective: netBind, ambient: netBind, policy: Names},
		{name: "non-root user, cap-add all, runtime older than kernel",
			req:      Request{Adds: []string{"all"}, User: "1000", Runtime: rtRuncPre58, Env: envHost},
			bounding: all40.Minus(sysRes).Minus(newCaps), effective: all40.Minus(sysRes).Minus(newCaps),
			ambient: all40.Minus(sysRes).Minus(newCaps), policy: Names,
			omitted: []string{"24:not-in-bounding-set", "38:unknown-to-runtime", "39:unknown-to-runtime", "40:unknown-to-runtime"}},
		{name: "image label narrows the request",
			req:       Request{Defaults: podmanDefaults, ImageLabel: ptr("CAP_CHOWN,setuid"), Runtime: rtRunc, Env: envHost},
			bounding:  capnames.SetOf(capnames.CAP_CHOWN, capnames.CAP_SETUID),
			effective: capnames.SetOf(capnames.CAP_CHOWN, capnames.CAP_SETUID), policy: Names},
		{name: "image label asking for more is ignored",
			req:      Request{Defaults: podmanDefaults, ImageLabel: ptr("CAP_CHOWN,CAP_SYS_ADMIN"), Runtime: rtRunc, Env: envHost},
			bounding: defaults, effective: defaults, policy: Names, warning: "asks for CAP_SYS_ADMIN"},
		{name: "image label outside the bounding set is ignored",
			req: Request{Defaults: podmanDefaults, Adds: []string{"sys_resource"}, ImageLabel: ptr("CAP_SYS_RESOURCE"),
				Runtime: rtRunc, Env: envHost},
			bounding: defaults, effective: defaults, policy: Names, omitted: []string{"24:not-in-bounding-set"},
			warning: "asks for CAP_SYS_RESOURCE"},
		{name: "empty image label: no capabilities",
			req:    Request{Defaults: podmanDefaults, ImageLabel: ptr(""), Runtime: rtRunc, Env: envHost},
			policy: Names, entries: []string{}},
		{name: "image label does not narrow privileged",
			req:      Request{Privileged: true, ImageLabel: ptr("CAP_CHOWN"), Runtime: rtRunc, Env: envHost},
			bounding: all40.Minus(sysRes), effective: all40.Minus(sysRes), policy: Names,
			omitted: []string{"24:not-in-bounding-set"}},
		{name: "image label narrows below a non-root user's adds",
			req: Request{Defaults: podmanDefaults, Adds: []string{"net_admin"}, User: "1000",
				ImageLabel: ptr("CAP_CHOWN"), Runtime: rtRunc, Env: envHost},
			bounding: capnames.SetOf(capnames.CAP_CHOWN), policy: Names, warning: "CAP_NET_ADMIN, added by cap-add, not in the bounding list"},
		{name: "unknown runtime",
			req:      Request{Defaults: podmanDefaults, Adds: []string{"bpf"}, Runtime: rtUnknown, Env: envOldTable},
			bounding: defaults, effective: defaults, policy: Names, omitted: []string{"39:unnamed"},
			warning: "entries unverified for runtime /usr/bin/crun, which is assumed to take the table's names: unknown command features"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &specs.Spec{}
			r, err := Apply(spec, tt.req)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			got := r.Sets
			if got.Bounding != tt.bounding || got.Effective != tt.effective || got.Ambient != tt.ambient {
				t.Errorf("bounding %v\neffective %v\nambient %v\nwant\nbounding %v\neffective %v\nambient %v",
					got.Bounding.Strings(), got.Effective.Strings(), got.Ambient.Strings(),
					tt.bounding.Strings(), tt.effective.Strings(), tt.ambient.Strings())
			}
			checkReportSummary(t, r, tt.policy, tt.omitted, tt.warning)
			if tt.entries != nil && !slices.Equal(spec.Process.Capabilities.Bounding, tt.entries) {
				t.Errorf("bounding entries\n got %q\nwant %q", spec.Process.Capabilities.Bounding, tt.entries)
			}
			checkApply(t, tt.req, spec, r)
		})
	}
}

// checkApply checks the invariants of every application: each list is
// taken whole by the runtime and grants what the report says; the other
// lists are within bounding; root gets effective = permitted = bounding and
// no inheritable or ambient; another user gets the same set in effective,
// permitted, inheritable and ambient, all from the adds; the bounding list
// accounts for every requested capability once.
func checkApply(t *testing.T, req Request, spec *specs.Spec, r *Report) {
	t.Helper()
	c := spec.Process.Capabilities
	lists := []struct {
		name    string
		entries []string
		want    capnames.Set
	}{
		{"bounding", c.Bounding, r.Sets.Bounding},
		{"effective", c.Effective, r.Sets.Effective},
		{"inheritable", c.Inheritable, r.Sets.Inheritable},
		{"permitted", c.Permitted, r.Sets.Permitted},
		{"ambient", c.Ambient, r.Sets.Ambient},
	}
	for _, l := range lists {
		if l.entries == nil {
			t.Errorf("%s list is nil, want a list", l.name)
		}
		got, dropped := asRuntimeReads(req.Runtime, l.entries, req.Env)
		if len(dropped) != 0 {
			t.Errorf("%s: runtime would drop or reject %q", l.name, dropped)
		}
		if got != l.want {
			t.Errorf("%s entries %q grant %v, report says %v", l.name, l.entries, got.Strings(), l.want.Strings())
		}
		if l.want.Minus(r.Sets.Bounding) != 0 {
			t.Errorf("%s holds %v, not in bounding", l.name, l.want.Minus(r.Sets.Bounding).Strings())
		}
	}
	s := r.Sets
	if s.Bounding != r.Granted {
		t.Errorf("bounding %v, granted %v", s.Bounding.Strings(), r.Granted.Strings())
	}
	if isRoot(req.User, req.KeepID) {
		if s.Effective != s.Bounding || s.Permitted != s.Bounding || s.Inheritable != 0 || s.Ambient != 0 {
			t.Errorf("root: sets %+v, want effective = permitted = bounding, no inheritable or ambient", s)
		}
	} else {
		adds, _, err := mergeSet("adds", nil, req.Adds, nil, req.Env, req.Env.kernel())
		if err != nil {
			t.Fatal(err)
		}
		if s.Effective != s.Ambient || s.Permitted != s.Ambient || s.Inheritable != s.Ambient || s.Ambient.Minus(adds) != 0 {
			t.Errorf("user %q: sets %+v, want effective = permitted = inheritable = ambient ⊆ adds %v", req.User, s, adds.Strings())
		}
	}
	accounted := r.Granted
	for _, o := range r.Omitted {
		if accounted.Has(o.Cap) {
			t.Errorf("%v accounted for twice", o.Cap)
		}
		accounted.Add(o.Cap)
	}
	if accounted != r.Requested {
		t.Errorf("accounted for %v, requested %v", accounted.Strings(), r.Requested.Strings())
	}
	if allowed := req.Env.kernel().Intersect(req.Env.Bounding); r.Granted.Minus(allowed) != 0 {
		t.Errorf("granted %v beyond kernel ∩ bounding set", r.Granted.Minus(allowed).Strings())
	}
}

func TestApplyReplacesCapabilities(t *testing.T) {
	tests := []struct {
		name string
		spec *specs.Spec
	}{
		{"nil process", &specs.Spec{}},
		{"nil capabilities", &specs.Spec{Process: &specs.Process{Cwd: "/work"}}},
		{"existing lists", &specs.Spec{Process: &specs.Process{Cwd: "/work", Capabilities: &specs.LinuxCapabilities{
			Bounding: []string{"CAP_SYS_ADMIN"}, Effective: []string{"CAP_SYS_ADMIN"}, Inheritable: []string{"CAP_SYS_ADMIN"},
			Permitted: []string{"CAP_SYS_ADMIN"}, Ambient: []string{"CAP_SYS_ADMIN"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cwd := ""
			if tt.spec.Process != nil {
				cwd = tt.spec.Process.Cwd
			}
			_, err := Apply(tt.spec, Request{Defaults: []string{"CAP_CHOWN"}, Runtime: rtRunc, Env: envHost})
			if err != nil {
				t.Fatal(err)
			}
			c := tt.spec.Process.Capabilities
			want := []string{"CAP_CHOWN"}
			if !slices.Equal(c.Bounding, want) || !slices.Equal(c.Effective, want) || !slices.Equal(c.Permitted, want) ||
				len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
				t.Errorf("capabilities %+v, want CAP_CHOWN in bounding, effective and permitted only", c)
			}
			if tt.spec.Process.Cwd != cwd {
				t.Errorf("cwd %q, want %q kept", tt.spec.Process.Cwd, cwd)
			}
		})
	}
}

func TestApplyInvalidRequest(t *testing.T) {
	unchanged := func() *specs.Spec {
		return &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}}}}
	}
	tests := []struct {
		name     string
		spec     *specs.Spec
		req      Request
		wantErr  []error
		wantText []string // substrings of the message
	}{
		{name: "nil spec", req: Request{Env: envHost},
			wantErr: []error{ErrInvalidRequest}, wantText: []string{"nil spec"}},
		{name: "unknown cap-add", req: Request{Adds: []string{"CAP_NOPE"}, Env: envHost},
			wantErr:  []error{ErrInvalidRequest, capnames.ErrUnknown},
			wantText: []string{"cap-add", `"CAP_NOPE"`, "no such name"}},
		{name: "confusable cap-add", req: Request{Adds: []string{"ſys_admin"}, Env: envHost},
			wantErr: []error{ErrInvalidRequest, capnames.ErrUnknown}, wantText: []string{`"ſys_admin"`, "not ASCII"}},
		{name: "unknown cap-drop", req: Request{Drops: []string{"kil"}, Env: envHost},
			wantErr: []error{ErrInvalidRequest, capnames.ErrUnknown}, wantText: []string{"cap-drop", `"kil"`}},
		{name: "unknown default", req: Request{Defaults: []string{"CAP_CHOWN", "CAP_FOO"}, Env: envHost},
			wantErr: []error{ErrInvalidRequest, capnames.ErrUnknown}, wantText: []string{"default_capabilities", `"CAP_FOO"`}},
		{name: "all in defaults", req: Request{Defaults: []string{"ALL"}, Env: envHost},
			wantErr: []error{ErrInvalidRequest, capnames.ErrUnknown}, wantText: []string{"default_capabilities", `"ALL"`}},
		{name: "unknown default when privileged", req: Request{Privileged: true, Defaults: []string{"CAP_FOO"}, Env: envHost},
			wantErr: []error{ErrInvalidRequest, capnames.ErrUnknown}, wantText: []string{`"CAP_FOO"`}},
		{name: "cap the kernel lacks", req: Request{Adds: []string{"CAP_BPF"}, Env: envOldKernel},
			wantErr: []error{ErrInvalidRequest, capnames.ErrUnknown}, wantText: []string{`"CAP_BPF"`, "needs Linux 5.8"}},
		{name: "numeral above the kernel", req: Request{Adds: []string{"41"}, Env: envHost},
			wantErr: []error{ErrInvalidRequest, capnames.ErrUnknown}, wantText: []string{`"41"`}},
		{name: "added and dropped", req: Request{Adds: []string{"kill"}, Drops: []string{"CAP_KILL"}, Env: envHost},
			wantErr: []error{ErrInvalidRequest, ErrMergeConflict}, wantText: []string{"CAP_KILL"}},
		{name: "all added and dropped", req: Request{Adds: []string{"all"}, Drops: []string{"All"}, Env: envHost},
			wantErr: []error{ErrInvalidRequest, ErrMergeConflict}, wantText: []string{"all"}},
		{name: "bad image label", req: Request{ImageLabel: ptr("CAP_CHOWN, CAP_KILL"), Env: envHost},
			wantErr:  []error{ErrInvalidRequest, capnames.ErrUnknown},
			wantText: []string{"io.containers.capabilities", `" CAP_KILL"`}},
		{name: "image label with empty entry", req: Request{ImageLabel: ptr("CAP_CHOWN,"), Env: envHost},
			wantErr: []error{ErrInvalidRequest, capnames.ErrUnknown}, wantText: []string{"io.containers.capabilities", "empty"}},
		{name: "bad policy", req: Request{Policy: Policy(7), Env: envHost},
			wantErr: []error{ErrInvalidRequest, ErrInvalidPolicy}, wantText: []string{"Policy(7)"}},
		{name: "bad env", req: Request{Env: Env{KernelLast: 70}},
			wantErr: []error{ErrInvalidEnv}, wantText: []string{"70"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			if spec == nil && tt.name != "nil spec" {
				spec = unchanged()
			}
			r, err := Apply(spec, tt.req)
			if err == nil {
				t.Fatalf("Apply succeeded: %+v", r)
			}
			if r != nil {
				t.Errorf("report %+v with the error", r)
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("error %q does not wrap %q", err, want)
				}
			}
			for _, want := range tt.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if spec != nil && (spec.Process.Capabilities == nil || !slices.Equal(spec.Process.Capabilities.Bounding, []string{"CAP_KILL"})) {
				t.Errorf("spec changed on error: %+v", spec.Process.Capabilities)
			}
		})
	}
}

// TestApplyHost applies a request against this machine's own environment
// (the zero Env) and checks it against the kernel's answers.
func TestApplyHost(t *testing.T) {
	host, err := HostEnv()
	if err != nil {
		t.Fatal(err)
	}
	last, bounding := host.KernelLast, host.Bounding
	spec := &specs.Spec{}
	r, err := Apply(spec, Request{Adds: []string{"all"}, Runtime: rtRunc})
	if err != nil {
		t.Fatal(err)
	}
	want := capnames.UpTo(last).Intersect(bounding)
	if r.Policy == Names {
		want = want.Intersect(capnames.Default().Set())
	}
	if r.Granted != want {
		t.Errorf("granted %v, want kernel ∩ bounding set %v", r.Granted.Strings(), want.Strings())
	}
	if missing := capnames.UpTo(last).Minus(bounding); missing != 0 {
		for _, o := range r.Omitted {
			if missing.Has(o.Cap) && o.Reason != NotInBoundingSet {
				t.Errorf("%v left out for %v, want %v", o.Cap, o.Reason, NotInBoundingSet)
			}
		}
	}
	checkApply(t, Request{Adds: []string{"all"}, Runtime: rtRunc, Env: Env{KernelLast: last, Bounding: bounding}}, spec, r)
}

// TestApplyInvariants applies random requests for random users on random
// machines to random runtimes and checks the invariants of each.
func TestApplyInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tables := []*capnames.Table{capnames.Default(), capnames.Default().UpTo(37)}
	runtimes := []*Features{nil, rtRunc, rtRuncPre58, rtCrun, rtCrunPre58, rtAllCaps, rtUnknown, rtCrunAllCaps, rtCrun181}
	users := []string{"", "root", "0", "0:0", "1000", "nobody:nogroup", "root:wheel"}
	entry := func(last capnames.Cap) string {
		c := capnames.Cap(rng.IntN(int(last) + 1))
		switch rng.IntN(4) {
		case 0:
			return strconv.Itoa(int(c))
		case 1:
			if rng.IntN(8) == 0 {
				return "all"
			}
		}
		if c > capnames.Last {
			return strconv.Itoa(int(c))
		}
		return strings.ToLower(c.String())
	}
	list := func(last capnames.Cap, n int) []string {
		var l []string
		for range rng.IntN(n + 1) {
			l = append(l, entry(last))
		}
		return l
	}
	const n = 20000
	applied := 0
	for range n {
		last := capnames.Cap(37 + rng.IntN(10))
		env := Env{Table: tables[rng.IntN(len(tables))], KernelLast: last, Bounding: capnames.UpTo(last)}
		if rng.IntN(2) == 0 {
			env.Bounding &= capnames.Set(rng.Uint64())
		}
		req := Request{
			Privileged: rng.IntN(8) == 0,
			Adds:       list(last, 4),
			Drops:      list(last, 2),
			User:       users[rng.IntN(len(users))],
			KeepID:     rng.IntN(4) == 0,
			Policy:     Policy(rng.IntN(4)),
			Runtime:    runtimes[rng.IntN(len(runtimes))],
			Env:        env,
		}
		if rng.IntN(2) == 0 {
			req.Defaults = podmanDefaults
		}
		if rng.IntN(4) == 0 {
			req.ImageLabel = ptr(strings.Join(list(last, 3), ","))
		}
		spec := &specs.Spec{}
		r, err := Apply(spec, req)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("Apply(%+v): error %v does not wrap ErrInvalidRequest", req, err)
			}
			continue
		}
		applied++
		checkApply(t, req, spec, r)
		if t.Failed() {
			t.Fatalf("Apply(%+v)", req)
		}
	}
	t.Logf("%d of %d random requests applied and checked; the others were invalid", applied, n)
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
