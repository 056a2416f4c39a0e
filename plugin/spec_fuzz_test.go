package plugin

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// asRuntimeReads returns the capabilities an OCI runtime described by f
// applies for entries on env's kernel and bounding set, and the
// entries it would ignore or reject. It is written from what runtimes do,
// not from the emitter: a runtime maps the canonical names it lists with
// the kernel's numbering (the full table), decimal numerals only when it
// takes them (which a probe may learn from --version even when the
// runtime's names are unknown), and "ALL_CAPS" only when it advertises it:
// then it stands for the kernel's capabilities in the bounding set, which
// is the runtime's own (docs/proposal.md). A runtime whose names are
// unknown is taken to know the table's canonical names. Anything above the
// kernel's last capability grants nothing.
func asRuntimeReads(f *Features, entries []string, env Env) (capnames.Set, []string) {
	last := env.KernelLast
	known := f != nil && !f.Unknown
	namesKnown := known && f.Names != nil
	var set capnames.Set
	var ignored []string
	for _, e := range entries {
		switch c, kind := runtimeEntry(e); {
		case kind == "all" && known && f.AllCaps:
			set |= capnames.UpTo(last).Intersect(env.Bounding)
		case kind == "name" && c <= last && (!namesKnown || slices.Contains(f.Names, e)):
			set.Add(c)
		case kind == "numeral" && c <= last && f != nil && f.Numerals:
			set.Add(c)
		default:
			ignored = append(ignored, e)
		}
	}
	return set, ignored
}

// runtimeEntry classifies an entry as a runtime would read it: exactly a
// canonical name of the kernel's table, a canonical decimal numeral in
// 0..63, "ALL_CAPS", or none of these.
func runtimeEntry(e string) (capnames.Cap, string) {
	if e == capnames.AllCaps {
		return -1, "all"
	}
	if n, err := strconv.Atoi(e); err == nil && strconv.Itoa(n) == e && n >= 0 && n <= int(capnames.MaxCap) {
		return capnames.Cap(n), "numeral"
	}
	if c, ok := kernelNames[e]; ok {
		return c, "name"
	}
	return -1, ""
}

// kernelNames maps the generated table's canonical names to their numbers.
var kernelNames = func() map[string]capnames.Cap {
	m := make(map[string]capnames.Cap)
	for _, row := range capnames.Default().Entries() {
		m[row.Name] = row.Value
	}
	return m
}()

// fuzzTables are the capability tables the fuzzers and property tests draw
// from: the generated one cut at every last capability, as older headers
// would have produced.
var fuzzTables = func() []*capnames.Table {
	t := make([]*capnames.Table, capnames.Last+1)
	for last := range capnames.Last + 1 {
		t[last] = capnames.Default().UpTo(last)
	}
	return t
}()

// fuzzRuntimes are runtimes the hook fuzzer and the property tests pick
// from; propRuntime makes random ones.
var fuzzRuntimes = []*Features{
	nil,
	{Runtime: "/usr/bin/crun", Unknown: true, Reason: "unknown command features"},
	{Runtime: "/usr/bin/crun", Version: "crun 1.8.1", Unknown: true, Reason: "unknown command features", Numerals: true},
	{Version: "runc 1.1.5", Names: namesUpTo(40)},
	{Version: "runc 1.0.0", Names: namesUpTo(37)},
	{Version: "crun 1.29", Names: namesUpTo(40), Numerals: true},
	{Version: "crun 0.14", Names: namesUpTo(30), Numerals: true},
	{Version: "future 2", Names: append(namesUpTo(40), capnames.AllCaps), AllCaps: true},
	{Version: "crun 9", Names: append(namesUpTo(35), capnames.AllCaps), AllCaps: true, Numerals: true},
	{Version: "odd 1", Names: []string{"cap_chown", "CAP_KILL ", "39", "CAP_NET_RAW", "", "ALL_CAPS"}, AllCaps: false},
	{Version: "empty 1", Names: []string{}},
}

// FuzzFilterConfig runs the precreate hook's filter on arbitrary config.json
// input for a host picked by the other arguments: a kernel whose last
// capability is 30..63, a bounding set within it, a table cut anywhere, one
// of fuzzRuntimes and a policy. It checks that the hook either fails with
// an error about its input and no output, or writes a valid spec that
// differs from the input only in process.capabilities, where each list, as
// the runtime reads it, grants only what the input list asked for (or, when
// the annotations ask to widen a list that may widen, the kernel), within
// the kernel and the bounding set, and nothing the runtime would ignore.
func FuzzFilterConfig(f *testing.F) {
	f.Add([]byte(`{"ociVersion":"1.0.0","process":{"user":{"uid":0,"gid":0},"cwd":"/","capabilities":{"bounding":["CAP_CHOWN","ALL_CAPS"],"effective":["CAP_CHOWN"]}}}`),
		uint8(10), uint64(1<<63-1), uint8(3), uint8(0), uint8(40), false)
	f.Fuzz(func(t *testing.T, data []byte, lastSeed uint8, boundingSeed uint64, rtSeed, policySeed, tableSeed uint8, trust bool) {
		last := capnames.Cap(30 + int(lastSeed)%34)
		env := Target{
			Env: Env{
				Table:      fuzzTables[int(tableSeed)%len(fuzzTables)],
				KernelLast: last,
				Bounding:   capnames.UpTo(last) & capnames.Set(boundingSeed),
			},
			Features:        fuzzRuntimes[int(rtSeed)%len(fuzzRuntimes)],
			Policy:          Policy(policySeed % 4),
			TrustPrivileged: trust,
		}
		out, warnings, err := FilterConfig(data, env)
		if err != nil {
			if out != nil || warnings != nil {
				t.Fatalf("error %v with output %q and warnings %q", err, out, warnings)
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("error %v is not about the input (ErrInvalidSpec)", err)
			}
			return
		}
		checkHookOutput(t, data, out, env)
	})
}

// checkHookOutput checks the hook's output for input data on env.
func checkHookOutput(t *testing.T, data, out []byte, env Target) {
	t.Helper()
	in, err := DecodeConfig(data, "config.json")
	if err != nil {
		t.Fatalf("hook accepted input that DecodeConfig rejects: %v", err)
	}
	got, err := DecodeConfig(out, "config.json")
	if err != nil {
		t.Fatalf("hook wrote an invalid spec: %v\n%s", err, out)
	}
	widen, _ := Widening(in.Annotations, env.TrustPrivileged)
	if (in.Process == nil) != (got.Process == nil) {
		t.Fatalf("process present in input: %v, in output: %v", in.Process != nil, got.Process != nil)
	}
	if in.Process == nil {
		return
	}
	if in.Process.Capabilities == nil && !widen && got.Process.Capabilities != nil {
		t.Fatalf("capabilities %+v added to a spec that had none", got.Process.Capabilities)
	}
	checkOnlyCapabilitiesChanged(t, in, got)
	if got.Process.Capabilities == nil {
		return
	}
	inCaps := in.Process.Capabilities
	if inCaps == nil {
		inCaps = &specs.LinuxCapabilities{}
	}
	kernel := capnames.UpTo(env.Env.KernelLast)
	root := in.Process.User.UID == 0
	gotLists := capListsOf(got.Process.Capabilities)
	for i, inList := range capListsOf(inCaps) {
		name := capListNames[i]
		asked, _, err := capnames.Materialize(inList, env.Env.KernelLast)
		if err != nil {
			t.Fatal(err)
		}
		if widen && (name == "bounding" || root && (name == "effective" || name == "permitted")) {
			asked = kernel
		}
		granted, ignored := asRuntimeReads(env.Features, gotLists[i], env.Env)
		if len(ignored) > 0 {
			t.Errorf("%s: entries %q that the runtime %+v ignores", name, ignored, env.Features)
		}
		if beyond := granted.Minus(asked.Intersect(kernel).Intersect(env.Env.Bounding)); beyond != 0 {
			t.Fatalf("%s: input %q, output %q grants %v, beyond request %v ∩ kernel ≤%d ∩ bounding %v (runtime %+v)",
				name, inList, gotLists[i], beyond.Strings(), asked.Strings(), env.Env.KernelLast, env.Env.Bounding.Strings(), env.Features)
		}
	}
}

var capListNames = [5]string{"bounding", "effective", "inheritable", "permitted", "ambient"}

func capListsOf(c *specs.LinuxCapabilities) [5][]string {
	return [5][]string{c.Bounding, c.Effective, c.Inheritable, c.Permitted, c.Ambient}
}

// checkOnlyCapabilitiesChanged checks that in and out encode the same once
// their process.capabilities are removed.
func checkOnlyCapabilitiesChanged(t *testing.T, in, out *specs.Spec) {
	t.Helper()
	inCaps, outCaps := in.Process.Capabilities, out.Process.Capabilities
	in.Process.Capabilities, out.Process.Capabilities = nil, nil
	a, errA := json.Marshal(in)
	b, errB := json.Marshal(out)
	in.Process.Capabilities, out.Process.Capabilities = inCaps, outCaps
	if errA != nil || errB != nil {
		t.Fatalf("re-encoding: %v, %v", errA, errB)
	}
	if string(a) != string(b) {
		t.Fatalf("hook changed more than process.capabilities:\n in %s\nout %s", a, b)
	}
}

// FuzzDecodeCapabilities: DecodeCapabilities reads what DecodeConfig reads
// of the fields RewriteCapabilities uses, and accepts everything
// DecodeConfig accepts; it refuses an input only with ErrInvalidSpec.
func FuzzDecodeCapabilities(f *testing.F) {
	f.Add([]byte(`{"ociVersion":"1.0.0","annotations":{"a":"b"},"process":{"user":{"uid":7},"capabilities":{"bounding":["CAP_CHOWN"],"Effective":["x"],"effective":["y"]}}}`))
	f.Add([]byte(`{"ociVersion":"1.2.1","process":null,"linux":5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		part, perr := DecodeCapabilities(data, "in")
		full, ferr := DecodeConfig(data, "in")
		if perr != nil && !errors.Is(perr, ErrInvalidSpec) {
			t.Fatalf("DecodeCapabilities: %v is not ErrInvalidSpec", perr)
		}
		if ferr != nil {
			return
		}
		if perr != nil {
			t.Fatalf("DecodeConfig accepts %q, DecodeCapabilities refuses it: %v", data, perr)
		}
		want := &specs.Spec{Version: full.Version, Annotations: full.Annotations}
		if full.Process != nil {
			want.Process = &specs.Process{User: specs.User{UID: full.Process.User.UID}, Capabilities: full.Process.Capabilities}
		}
		got, _ := json.Marshal(part)
		wantJSON, _ := json.Marshal(want)
		if string(got) != string(wantJSON) {
			t.Fatalf("%q:\nDecodeCapabilities %s\nDecodeConfig       %s", data, got, wantJSON)
		}
	})
}
