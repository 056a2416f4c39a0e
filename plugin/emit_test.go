package plugin

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
)

// Environments of the emission tests.
var (
	// envHost is this machine: Linux 6.1's table and kernel, and a bounding
	// set without CAP_SYS_RESOURCE.
	envHost = Env{KernelLast: 40, Bounding: capnames.UpTo(40).Minus(capnames.SetOf(capnames.CAP_SYS_RESOURCE))}
	// envFull has every capability of its kernel in its bounding set.
	envFull = Env{KernelLast: 40, Bounding: capnames.UpTo(40)}
	// envOldTable is a table generated from a 3.16 header (last cap 37) on a
	// kernel whose last capability is 40.
	envOldTable = Env{Table: capnames.Default().UpTo(37), KernelLast: 40, Bounding: capnames.UpTo(40)}
	// envOldKernel is a 5.7 kernel: no CAP_PERFMON, CAP_BPF or
	// CAP_CHECKPOINT_RESTORE.
	envOldKernel = Env{KernelLast: 37, Bounding: capnames.UpTo(37)}
)

// namesUpTo returns the canonical names of capabilities 0..last.
func namesUpTo(last capnames.Cap) []string {
	var names []string
	for _, c := range capnames.Default().UpTo(last).Caps() {
		names = append(names, c.String())
	}
	return names
}

// Runtimes of the emission tests: what a probe answers for the release
// each models. plugin/e2e runs the real releases.
var (
	// runc 1.1.5 (Debian 12): features list the 41 names of Linux 5.9.
	rtRunc = &Features{Version: "runc 1.1.5", Source: FromFeatures, Names: namesUpTo(40)}
	// runc v1.0.0-rc92 as its trial finds it: the names up to
	// CAP_AUDIT_READ, the later three rejected, no numerals.
	rtRuncPre58 = &Features{Version: "runc", Source: FromTrial, Names: namesUpTo(37), Tested: capnames.UpTo(40),
		Rejected: []string{"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}}
	// crun 1.8.1 as its trial finds it where it can run.
	rtCrun = &Features{Version: "crun 1.8.1", Source: FromTrial, Names: namesUpTo(40), Tested: capnames.UpTo(40), Numerals: true}
	// A crun whose libcap predates Linux 5.8: no such pairing was run;
	// it stands for any numeral-taking runtime that lacks recent names.
	rtCrunPre58 = &Features{Version: "crun 0.14", Source: FromTrial, Names: namesUpTo(37), Tested: capnames.UpTo(40), Numerals: true}
	// A runtime advertising ALL_CAPS in its features: none released yet
	// (runtime-spec issue #1071); capgen's own shim is the first.
	rtAllCaps = &Features{Version: "future 2.0", Source: FromFeatures, Names: append(namesUpTo(40), capnames.AllCaps), AllCaps: true}
	// crun 1.8.1 where neither features nor a trial worked (this host's
	// hybrid cgroups), with and without its --version.
	rtUnknown = &Features{Runtime: "/usr/bin/crun", Source: Assumed, Unknown: true, Reason: "unknown command features"}
	rtCrun181 = &Features{Runtime: "/usr/bin/crun", Source: Assumed, Version: "crun 1.8.1", Unknown: true,
		Reason: "unknown command features", Numerals: true}
	// crun ≥ 1.29 listing ALL_CAPS with old names: a hypothetical mix.
	rtCrunAllCaps = &Features{Version: "crun 9", Source: FromFeatures, Names: append(namesUpTo(37), capnames.AllCaps), AllCaps: true, Numerals: true}
)

// omissionsOf sums up a report's omissions as "CAP:reason".
func omissionsOf(r *Report) []string {
	var out []string
	for _, o := range r.Omitted {
		out = append(out, strconv.Itoa(int(o.Cap))+":"+o.Reason.String())
	}
	return out
}

// checkReportSummary checks the policy r applied, its omissions as
// omissionsOf sums them up, and its warnings: none when warning is "",
// else exactly one, containing warning.
func checkReportSummary(t *testing.T, r *Report, policy Policy, omitted []string, warning string) {
	t.Helper()
	if r.Policy != policy {
		t.Errorf("policy %v, want %v", r.Policy, policy)
	}
	if got := omissionsOf(r); !slices.Equal(got, omitted) {
		t.Errorf("omitted %q, want %q", got, omitted)
	}
	switch {
	case warning == "" && len(r.Warnings) != 0:
		t.Errorf("warnings %q, want none", r.Warnings)
	case warning != "" && (len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], warning)):
		t.Errorf("warnings %q, want one containing %q", r.Warnings, warning)
	}
}

func TestEmit(t *testing.T) {
	all40 := capnames.UpTo(40)
	sysRes := capnames.SetOf(capnames.CAP_SYS_RESOURCE)
	newCaps := capnames.SetOf(capnames.CAP_PERFMON, capnames.CAP_BPF, capnames.CAP_CHECKPOINT_RESTORE)
	tests := []struct {
		name      string
		requested capnames.Set
		all       bool
		env       Env
		rt        *Features
		policy    Policy
		want      []string // entries; nil: the names of wantGrant
		wantGrant capnames.Set
		wantPol   Policy
		wantOmit  []string // "cap:reason"
		wantWarn  string   // substring of the only warning; "" for none
	}{
		{name: "host, runc, all, auto",
			requested: all40, all: true, env: envHost, rt: rtRunc, policy: Auto,
			wantGrant: all40.Minus(sysRes), wantPol: Names, wantOmit: []string{"24:not-in-bounding-set"}},
		{name: "host, runc, some caps, names",
			requested: capnames.SetOf(0, 10, 24, 39), env: envHost, rt: rtRunc, policy: Names,
			wantGrant: capnames.SetOf(0, 10, 39), wantPol: Names, wantOmit: []string{"24:not-in-bounding-set"}},
		{name: "runtime older than kernel, auto",
			requested: all40, all: true, env: envFull, rt: rtRuncPre58, policy: Auto,
			wantGrant: all40.Minus(newCaps), wantPol: Names,
			wantOmit: []string{"38:unknown-to-runtime", "39:unknown-to-runtime", "40:unknown-to-runtime"}},
		{name: "runtime older than kernel, numeric falls back",
			requested: all40, all: true, env: envFull, rt: rtRuncPre58, policy: Numeric,
			wantGrant: all40.Minus(newCaps), wantPol: Names,
			wantOmit: []string{"38:unknown-to-runtime", "39:unknown-to-runtime", "40:unknown-to-runtime"},
			wantWarn: "takes no numerals"},
		{name: "older crun takes numerals for what it cannot name",
			requested: capnames.SetOf(0, 38, 40), env: envFull, rt: rtCrunPre58, policy: Auto,
			want: []string{"CAP_CHOWN", "38", "40"}, wantGrant: capnames.SetOf(0, 38, 40), wantPol: Numeric},
		{name: "older crun, names policy leaves out what it cannot name",
			requested: capnames.SetOf(0, 38, 40), env: envFull, rt: rtCrunPre58, policy: Names,
			wantGrant: capnames.SetOf(0), wantPol: Names,
			wantOmit: []string{"38:unknown-to-runtime", "40:unknown-to-runtime"}},
		{name: "table older than kernel, runc",
			requested: all40, all: true, env: envOldTable, rt: rtRunc, policy: Auto,
			wantGrant: capnames.UpTo(37), wantPol: Names,
			wantOmit: []string{"38:unnamed", "39:unnamed", "40:unnamed"}},
		{name: "table older than kernel, crun numerals",
			requested: all40, all: true, env: envOldTable, rt: rtCrun, policy: Auto,
			want: append(namesUpTo(37), "38", "39", "40"), wantGrant: all40, wantPol: Numeric},
		{name: "table older than kernel, unknown runtime",
			requested: capnames.SetOf(1, 39), env: envOldTable, rt: rtUnknown, policy: Auto,
			wantGrant: capnames.SetOf(1), wantPol: Names, wantOmit: []string{"39:unnamed"},
			wantWarn: "entries unverified for runtime /usr/bin/crun"},
		{name: "table older than kernel, crun without features",
			requested: all40, all: true, env: envOldTable, rt: rtCrun181, policy: Auto,
			want: append(namesUpTo(37), "38", "39", "40"), wantGrant: all40, wantPol: Numeric,
			wantWarn: "entries unverified for runtime crun 1.8.1"},
		{name: "kernel older than table",
			requested: capnames.SetOf(2, 38, 40), env: envOldKernel, rt: rtRunc, policy: Names,
			wantGrant: capnames.SetOf(2), wantPol: Names,
			wantOmit: []string{"38:not-in-kernel", "40:not-in-kernel"}},
		{name: "nil features are unknown",
			requested: capnames.SetOf(5, 24), env: envHost, policy: Numeric,
			wantGrant: capnames.SetOf(5), wantPol: Names, wantOmit: []string{"24:not-in-bounding-set"},
			wantWarn: "takes no numerals"},
		{name: "all-caps, full bounding set",
			requested: all40, all: true, env: envFull, rt: rtAllCaps, policy: AllCaps,
			want: []string{"ALL_CAPS"}, wantGrant: all40, wantPol: AllCaps},
		{name: "auto picks all-caps",
			requested: all40, all: true, env: envFull, rt: rtAllCaps, policy: Auto,
			want: []string{"ALL_CAPS"}, wantGrant: all40, wantPol: AllCaps},
		{name: "all-caps even for what the runtime cannot name",
			requested: all40, all: true, env: envOldTable, rt: rtCrunAllCaps, policy: AllCaps,
			want: []string{"ALL_CAPS"}, wantGrant: all40, wantPol: AllCaps},
		{name: "all-caps, bounding set lacks a cap: ALL_CAPS stands for the rest",
			requested: all40, all: true, env: envHost, rt: rtAllCaps, policy: AllCaps,
			want: []string{"ALL_CAPS"}, wantGrant: all40.Minus(sysRes), wantPol: AllCaps, wantOmit: []string{"24:not-in-bounding-set"}},
		{name: "auto, bounding set lacks a cap: ALL_CAPS",
			requested: all40, all: true, env: envHost, rt: rtAllCaps, policy: Auto,
			want: []string{"ALL_CAPS"}, wantGrant: all40.Minus(sysRes), wantPol: AllCaps, wantOmit: []string{"24:not-in-bounding-set"}},
		{name: "all-caps, not an all request",
			requested: all40, env: envFull, rt: rtAllCaps, policy: AllCaps,
			wantGrant: all40, wantPol: Names, wantWarn: `not "all"`},
		{name: "all-caps, all minus drops",
			requested: all40.Minus(capnames.SetOf(capnames.CAP_NET_RAW)), all: true, env: envFull, rt: rtAllCaps,
			policy: AllCaps, wantGrant: all40.Minus(capnames.SetOf(capnames.CAP_NET_RAW)), wantPol: Names,
			wantWarn: "leaves out CAP_NET_RAW"},
		{name: "all-caps, runtime does not advertise it",
			requested: all40, all: true, env: envFull, rt: rtCrun, policy: AllCaps,
			wantGrant: all40, wantPol: Numeric, wantWarn: "does not advertise ALL_CAPS"},
		{name: "all-caps fallback to numerals",
			requested: all40, env: envHost, rt: rtCrunAllCaps, policy: AllCaps,
			want:      append(slices.Delete(namesUpTo(37), 24, 25), "38", "39", "40"),
			wantGrant: all40.Minus(sysRes), wantPol: Numeric, wantOmit: []string{"24:not-in-bounding-set"},
			wantWarn: `the request is not "all"`},
		{name: "nothing requested",
			env: envHost, rt: rtRunc, policy: Auto, want: []string{}, wantPol: Names},
		{name: "empty bounding set",
			requested: capnames.SetOf(0, 1), env: Env{KernelLast: 40}, rt: rtRunc, policy: Names,
			want: []string{}, wantPol: Names, wantOmit: []string{"0:not-in-bounding-set", "1:not-in-bounding-set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, r, err := Emit(tt.requested, tt.all, tt.env, tt.rt, tt.policy)
			if err != nil {
				t.Fatalf("Emit: %v", err)
			}
			want := tt.want
			if want == nil {
				want = tt.wantGrant.Strings()
			}
			if !slices.Equal(entries, want) {
				t.Errorf("entries\n got %q\nwant %q", entries, want)
			}
			if r.Granted != tt.wantGrant {
				t.Errorf("granted %v, want %v", r.Granted.Strings(), tt.wantGrant.Strings())
			}
			checkReportSummary(t, r, tt.wantPol, tt.wantOmit, tt.wantWarn)
			checkEmission(t, tt.requested, tt.env, tt.rt, entries, r)
		})
	}
}

func TestEmitOmissionText(t *testing.T) {
	tests := []struct {
		name      string
		requested capnames.Set
		env       Env
		rt        *Features
		policy    Policy
		want      string
	}{
		{"kernel lacks a cap the table dates", capnames.SetOf(capnames.CAP_BPF), envOldKernel, rtRunc, Names,
			"needs Linux 5.8; this kernel's last capability is 37"},
		{"kernel lacks a cap the table does not know", capnames.SetOf(45), envFull, rtRunc, Names,
			"above this kernel's last capability, 40"},
		{"bounding set", capnames.SetOf(capnames.CAP_SYS_RESOURCE), envHost, rtRunc, Names,
			"not in the bounding set"},
		{"trial: rejected, no numerals", capnames.SetOf(capnames.CAP_BPF), envFull, rtRuncPre58, Auto,
			"rejected by runtime runc (it failed a trial container naming it), which takes no numerals"},
		{"trial: not applied, names policy for a numeral runtime", capnames.SetOf(capnames.CAP_BPF), envFull, rtCrunPre58, Names,
			"not applied by runtime crun 0.14 in its trial; policy names emits no numerals"},
		{"trial: not tried", capnames.SetOf(capnames.CAP_SYS_RESOURCE), envFull,
			&Features{Version: "runc", Source: FromTrial, Names: namesUpTo(23), Tested: capnames.UpTo(23)}, Auto,
			"not tried on runtime runc (its trial ran where the bounding set lacked it), which takes no numerals"},
		{"features do not list it", capnames.SetOf(capnames.CAP_BPF), envFull,
			&Features{Version: "youki 0.3", Source: FromFeatures, Names: namesUpTo(37)}, Auto,
			"unknown to runtime youki 0.3, which takes no numerals"},
		{"table without the name", capnames.SetOf(capnames.CAP_BPF), envOldTable, rtRunc, Auto,
			"has no name for it and runtime runc 1.1.5 takes no numerals"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r, err := Emit(tt.requested, false, tt.env, tt.rt, tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Omitted) != 1 || !strings.Contains(r.Omitted[0].Text, tt.want) {
				t.Fatalf("omitted %+v, want one whose text holds %q", r.Omitted, tt.want)
			}
		})
	}
}

func TestEmitInvalidInput(t *testing.T) {
	tests := []struct {
		name    string
		env     Env
		policy  Policy
		wantErr error
	}{
		{"kernel last negative", Env{KernelLast: -1}, Auto, ErrInvalidEnv},
		{"kernel last above 63", Env{KernelLast: 64}, Auto, ErrInvalidEnv},
		{"bounding above kernel", Env{KernelLast: 37, Bounding: capnames.UpTo(40)}, Auto, ErrInvalidEnv},
		{"policy out of range", envHost, Policy(9), ErrInvalidPolicy},
		{"negative policy", envHost, Policy(-1), ErrInvalidPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, r, err := Emit(capnames.UpTo(40), true, tt.env, rtRunc, tt.policy)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if entries != nil || r != nil {
				t.Errorf("got entries %q and report %v with the error", entries, r)
			}
		})
	}
}

// checkEmission checks the invariants of every emission: the runtime takes
// every entry and applies exactly the granted set; granted ⊆ requested ∩
// kernel ∩ bounding; every requested capability is granted or omitted,
// once.
func checkEmission(t *testing.T, requested capnames.Set, env Env, rt *Features, entries []string, r *Report) {
	t.Helper()
	applied, dropped := asRuntimeReads(rt, entries, env)
	if len(dropped) != 0 {
		t.Errorf("runtime %s would drop or reject %q", rt.displayName(), dropped)
	}
	if applied != r.Granted {
		t.Errorf("runtime applies %v, report grants %v", applied.Strings(), r.Granted.Strings())
	}
	if allowed := requested.Intersect(env.kernel()).Intersect(env.Bounding); r.Granted.Minus(allowed) != 0 {
		t.Errorf("granted %v beyond requested ∩ kernel ∩ bounding", r.Granted.Minus(allowed).Strings())
	}
	if r.Requested != requested {
		t.Errorf("report requested %v, want %v", r.Requested.Strings(), requested.Strings())
	}
	accounted := r.Granted
	for _, o := range r.Omitted {
		if accounted.Has(o.Cap) {
			t.Errorf("%v accounted for twice", o.Cap)
		}
		if o.Text == "" || o.Name != env.table().Name(o.Cap) {
			t.Errorf("omission %+v: missing text or wrong name", o)
		}
		accounted.Add(o.Cap)
	}
	if accounted != requested {
		t.Errorf("accounted for %v, requested %v", accounted.Strings(), requested.Strings())
	}
}

// TestEmitInvariants emits random requests to random runtimes on random
// kernels and checks the invariants of every emission.
func TestEmitInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tables := []*capnames.Table{capnames.Default(), capnames.Default().UpTo(37), capnames.Default().UpTo(30)}
	runtimes := []*Features{nil, rtRunc, rtRuncPre58, rtCrun, rtCrunPre58, rtAllCaps, rtUnknown, rtCrunAllCaps, rtCrun181,
		{Names: []string{"CAP_CHOWN", "cap_kill"}}}
	const n = 20000
	for i := range n {
		last := capnames.Cap(30 + rng.IntN(34))
		env := Env{Table: tables[rng.IntN(len(tables))], KernelLast: last, Bounding: capnames.UpTo(last)}
		if rng.IntN(2) == 0 {
			env.Bounding &= capnames.Set(rng.Uint64())
		}
		requested := capnames.Set(rng.Uint64())
		all := rng.IntN(3) == 0
		if all {
			requested = capnames.UpTo(last)
			if rng.IntN(2) == 0 {
				requested.Remove(capnames.Cap(rng.IntN(64)))
			}
		}
		rt := runtimes[rng.IntN(len(runtimes))]
		policy := Policy(rng.IntN(4))
		entries, r, err := Emit(requested, all, env, rt, policy)
		if err != nil {
			t.Fatalf("Emit(%v, %v, %+v, %v, %v): %v", requested, all, env, rt, policy, err)
		}
		if r.Policy == AllCaps && (!all || !slices.Equal(entries, []string{capnames.AllCaps})) {
			t.Fatalf("ALL_CAPS applied to %v (all %v) with bounding %v: %q", requested, all, env.Bounding, entries)
		}
		checkEmission(t, requested, env, rt, entries, r)
		if t.Failed() {
			t.Fatalf("case %d: Emit(%v, %v, %+v, %v, %v)", i, requested, all, env, rt.displayName(), policy)
		}
	}
	t.Logf("checked %d random emissions", n)
}

func TestReportJSON(t *testing.T) {
	_, r, err := Emit(capnames.UpTo(40), true, envOldTable.withBounding(envHost.Bounding), rtRunc, AllCaps)
	if err != nil {
		t.Fatal(err)
	}
	r.Sets = Sets{Bounding: r.Granted, Effective: r.Granted, Permitted: r.Granted}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"policy":"names"`, `"reason":"not-in-bounding-set"`, `"reason":"unnamed"`,
		`"bitmap":"0000003ffeffffff"`, `"inheritable":{"bitmap":"0000000000000000","names":[]}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("round trip\n got %+v\nwant %+v", back, *r)
	}
}

func (e Env) withBounding(s capnames.Set) Env {
	e.Bounding = s
	return e
}

func TestReasonText(t *testing.T) {
	for r := NotInKernel; r <= Unnamed; r++ {
		text, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Reason
		if err := back.UnmarshalText(text); err != nil || back != r {
			t.Errorf("%v round trips to %v, %v", r, back, err)
		}
	}
	if _, err := Reason(0).MarshalText(); err == nil {
		t.Error("Reason(0) marshals")
	}
	var r Reason
	if err := r.UnmarshalText([]byte("nope")); err == nil {
		t.Error(`"nope" unmarshals`)
	}
}

// TestEmitOmittedAscending checks that omissions found in different passes
// (the bounding set, then the runtime) are reported in capability order.
func TestEmitOmittedAscending(t *testing.T) {
	table := capnames.Default()
	var names []string
	for _, e := range table.Entries() {
		names = append(names, e.Name)
	}
	env := Env{Table: table, KernelLast: 42, Bounding: capnames.UpTo(41)}
	_, r, err := Emit(capnames.UpTo(42), false, env, &Features{Names: names}, Names)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Omitted) != 2 || r.Omitted[0].Cap != 41 || r.Omitted[1].Cap != 42 {
		t.Errorf("omitted = %+v, want 41 then 42", r.Omitted)
	}
}
