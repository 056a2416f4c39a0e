package plugin

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookSpec returns a config.json as Podman writes it, with the given user
// id, annotations and capability lists (bounding, effective, inheritable,
// permitted, ambient; nil lists are left out).
func hookSpec(t *testing.T, uid uint32, annotations map[string]string, lists [5][]string) []byte {
	t.Helper()
	spec := specs.Spec{
		Version:     specs.Version,
		Hostname:    "hooked",
		Annotations: annotations,
		Root:        &specs.Root{Path: "rootfs", Readonly: true},
		Mounts:      []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Process: &specs.Process{
			Args: []string{"/bin/sh"},
			Env:  []string{"PATH=/bin"},
			Cwd:  "/",
			User: specs.User{UID: uid, GID: uid},
			Capabilities: &specs.LinuxCapabilities{
				Bounding: lists[0], Effective: lists[1], Inheritable: lists[2], Permitted: lists[3], Ambient: lists[4],
			},
		},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}}},
	}
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// hookGrantedSets returns what each of the five lists of out grants on a kernel
// whose last capability is last, as the runtime would read them — ALL_CAPS
// as the kernel's capabilities in the runtime's own bounding set, bounding
// (docs/proposal.md) — and fails the test for any entry that grants nothing.
func hookGrantedSets(t *testing.T, out []byte, last capnames.Cap, bounding capnames.Set) [5]capnames.Set {
	t.Helper()
	var sets [5]capnames.Set
	for i, list := range outputLists(t, out) {
		all := slices.Contains(list, capnames.AllCaps)
		list = slices.DeleteFunc(slices.Clone(list), func(e string) bool { return e == capnames.AllCaps })
		set, unmapped, err := capnames.Materialize(list, last)
		if all {
			set |= capnames.UpTo(last).Intersect(bounding)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(unmapped) > 0 {
			t.Errorf("list %d has entries no runtime maps: %q", i, unmapped)
		}
		sets[i] = set
	}
	return sets
}

// outputLists decodes the five capability lists of a config.json the hook
// or the shim wrote; a spec without them has five empty lists.
func outputLists(t *testing.T, out []byte) [5][]string {
	t.Helper()
	var spec specs.Spec
	if err := json.Unmarshal(out, &spec); err != nil {
		t.Fatalf("output is not a spec: %v\n%s", err, out)
	}
	if spec.Process == nil || spec.Process.Capabilities == nil {
		return [5][]string{}
	}
	return capListsOf(spec.Process.Capabilities)
}

// hookRuntimeNaming returns the features of a runtime that lists the names of
// the table's capabilities up to last.
func hookRuntimeNaming(last capnames.Cap, numerals, allCaps bool) *Features {
	f := &Features{Runtime: "/usr/bin/fake", Numerals: numerals, AllCaps: allCaps}
	for _, c := range capnames.Default().Caps() {
		if c <= last {
			f.Names = append(f.Names, c.String())
		}
	}
	if allCaps {
		f.Names = append(f.Names, capnames.AllCaps)
	}
	return f
}

func TestFilterConfig(t *testing.T) {
	const last = capnames.CAP_CHECKPOINT_RESTORE
	kernel := capnames.UpTo(last)
	restricted := kernel.Minus(capnames.SetOf(capnames.CAP_SYS_RESOURCE))
	defaults := []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_KILL"}
	defaultSet := capnames.SetOf(capnames.CAP_CHOWN, capnames.CAP_NET_BIND_SERVICE, capnames.CAP_KILL)
	ours := map[string]string{CapabilitiesAnnotation: "all"}
	privileged := map[string]string{PodmanPrivilegedAnnotation: PodmanTrue}
	notPrivileged := map[string]string{PodmanPrivilegedAnnotation: PodmanFalse}
	runc := hookRuntimeNaming(capnames.CAP_BPF, false, false) // an older runtime: no CAP_CHECKPOINT_RESTORE
	crun := hookRuntimeNaming(last, true, false)
	future := hookRuntimeNaming(last, true, true)

	tests := []struct {
		name        string
		uid         uint32
		annotations map[string]string
		trust       bool // Target.TrustPrivileged
		lists       [5][]string
		bounding    capnames.Set
		kernelLast  capnames.Cap // 0 means last
		features    *Features
		want        [5]capnames.Set
		wantEntries []string // entries of the bounding list, when checked
		wantWarn    []string
	}{{
		name:     "named lists pass through",
		lists:    [5][]string{defaults, defaults, {}, defaults, {}},
		bounding: restricted, features: crun,
		want: [5]capnames.Set{defaultSet, defaultSet, 0, defaultSet, 0},
	}, {
		name:     "ALL_CAPS is the kernel minus the bounding set's gaps",
		lists:    [5][]string{{capnames.AllCaps}, {capnames.AllCaps}, {}, {capnames.AllCaps}, {}},
		bounding: restricted, features: crun,
		want:     [5]capnames.Set{restricted, restricted, 0, restricted, 0},
		wantWarn: []string{"process.capabilities.bounding: left out CAP_SYS_RESOURCE: not in the bounding set"},
	}, {
		name:     "ALL_CAPS to a runtime lacking a name that takes no numerals",
		lists:    [5][]string{{capnames.AllCaps}, {}, {}, {}, {}},
		bounding: kernel, features: runc,
		want:     [5]capnames.Set{capnames.UpTo(capnames.CAP_BPF)},
		wantWarn: []string{"process.capabilities.bounding: left out CAP_CHECKPOINT_RESTORE: unknown to runtime /usr/bin/fake"},
	}, {
		name:     "numerals become names the runtime knows",
		lists:    [5][]string{{"0", "39", "CAP_KILL"}, {"21"}, {}, {"21"}, {}},
		bounding: restricted, features: runc,
		want:        [5]capnames.Set{capnames.SetOf(0, 39, capnames.CAP_KILL), capnames.SetOf(21), 0, capnames.SetOf(21), 0},
		wantEntries: []string{"CAP_CHOWN", "CAP_KILL", "CAP_BPF"},
	}, {
		name:     "a numeral outside the bounding set is left out",
		lists:    [5][]string{{"24", "1"}, {}, {}, {}, {}},
		bounding: restricted, features: crun,
		want:     [5]capnames.Set{capnames.SetOf(1)},
		wantWarn: []string{"left out CAP_SYS_RESOURCE"},
	}, {
		name:     "unknown, confusable, malformed and too-high entries are dropped",
		lists:    [5][]string{{"CAP_FOO", "ſys_admin", "041", "+1", "64", "41", "", "CAP_KILL"}, {"all"}, {}, {}, {}},
		bounding: kernel, features: crun,
		want: [5]capnames.Set{capnames.SetOf(capnames.CAP_KILL)},
		wantWarn: []string{
			`bounding: dropped entry "CAP_FOO"`, `dropped entry "ſys_admin"`, `dropped entry "041"`,
			`dropped entry "+1"`, `dropped entry "64"`, `dropped entry "41": above this kernel's last capability, 40`,
			`dropped entry ""`, `effective: dropped entry "all"`,
		},
	}, {
		name:        "trusted privileged marker widens bounding, effective and permitted for root",
		annotations: privileged, trust: true,
		lists:    [5][]string{defaults, defaults, {}, defaults, {}},
		bounding: restricted, features: crun,
		want:     [5]capnames.Set{restricted, restricted, 0, restricted, 0},
		wantWarn: []string{"effective: left out CAP_SYS_RESOURCE: not in the bounding set"},
	}, {
		name:        "capgen's former annotation is ignored, with a warning",
		annotations: ours, trust: true,
		lists:    [5][]string{defaults, defaults, {}, defaults, {}},
		bounding: kernel, features: crun,
		want:     [5]capnames.Set{defaultSet, defaultSet, 0, defaultSet, 0},
		wantWarn: []string{`annotation io.github.capgen-dev.capabilities="all" ignored`},
	}, {
		name:        "an untrusted privileged marker is ignored, with a warning",
		annotations: privileged,
		lists:       [5][]string{defaults, defaults, {}, defaults, {}},
		bounding:    kernel, features: crun,
		want:     [5]capnames.Set{defaultSet, defaultSet, 0, defaultSet, 0},
		wantWarn: []string{`annotation io.podman.annotations.privileged="TRUE" not trusted`},
	}, {
		name:        "a marker value Podman never writes is ignored, with a warning",
		annotations: map[string]string{PodmanPrivilegedAnnotation: "true", CapabilitiesAnnotation: "TRUE"}, trust: true,
		lists:    [5][]string{defaults, defaults, {}, defaults, {}},
		bounding: kernel, features: crun,
		want:     [5]capnames.Set{defaultSet, defaultSet, 0, defaultSet, 0},
		wantWarn: []string{`io.podman.annotations.privileged="true" ignored: Podman writes only "TRUE" or "FALSE"`, `io.github.capgen-dev.capabilities="TRUE" ignored`},
	}, {
		name:        "privileged FALSE does not widen",
		annotations: notPrivileged, trust: true,
		lists:    [5][]string{defaults, defaults, {}, defaults, {}},
		bounding: kernel, features: crun,
		want: [5]capnames.Set{defaultSet, defaultSet, 0, defaultSet, 0},
	}, {
		name:        "non-root: only bounding widens; ambient and inheritable stay",
		uid:         1000,
		annotations: privileged, trust: true,
		lists:    [5][]string{defaults, {"CAP_NET_BIND_SERVICE"}, {"CAP_NET_BIND_SERVICE"}, {"CAP_NET_BIND_SERVICE"}, {"CAP_NET_BIND_SERVICE"}},
		bounding: restricted, features: crun,
		want: [5]capnames.Set{restricted, capnames.SetOf(capnames.CAP_NET_BIND_SERVICE), capnames.SetOf(capnames.CAP_NET_BIND_SERVICE),
			capnames.SetOf(capnames.CAP_NET_BIND_SERVICE), capnames.SetOf(capnames.CAP_NET_BIND_SERVICE)},
		wantWarn: []string{"bounding: left out CAP_SYS_RESOURCE: not in the bounding set"},
	}, {
		name:        "widening adds nothing to an empty inheritable for root",
		annotations: privileged, trust: true,
		lists:    [5][]string{nil, nil, nil, nil, nil},
		bounding: kernel, features: runc,
		want: [5]capnames.Set{capnames.UpTo(capnames.CAP_BPF), capnames.UpTo(capnames.CAP_BPF), 0, capnames.UpTo(capnames.CAP_BPF), 0},
		wantWarn: []string{"bounding: left out CAP_CHECKPOINT_RESTORE: unknown to runtime /usr/bin/fake",
			"effective: left out CAP_CHECKPOINT_RESTORE", "permitted: left out CAP_CHECKPOINT_RESTORE"},
	}, {
		name:        "kernel newer than the table: numerals for the unnamed",
		annotations: privileged, trust: true,
		lists:      [5][]string{defaults, defaults, {}, defaults, {}},
		kernelLast: 42, bounding: capnames.UpTo(42), features: crun,
		want: [5]capnames.Set{capnames.UpTo(42), capnames.UpTo(42), 0, capnames.UpTo(42), 0},
	}, {
		name:        "kernel newer than the table, runtime without numerals",
		annotations: privileged, trust: true,
		lists:      [5][]string{defaults, defaults, {}, defaults, {}},
		kernelLast: 42, bounding: capnames.UpTo(42), features: hookRuntimeNaming(last, false, false),
		want:     [5]capnames.Set{kernel, kernel, 0, kernel, 0},
		wantWarn: []string{"left out 41", "left out 42"},
	}, {
		name:        "ALL_CAPS stays ALL_CAPS for a runtime that advertises it",
		annotations: privileged, trust: true,
		lists:    [5][]string{defaults, defaults, {}, defaults, {}},
		bounding: kernel, features: future,
		want:        [5]capnames.Set{kernel, kernel, 0, kernel, 0},
		wantEntries: []string{capnames.AllCaps},
	}, {
		name:        "ALL_CAPS within a bounding set that lacks a capability",
		annotations: privileged, trust: true,
		lists:    [5][]string{defaults, defaults, {}, defaults, {}},
		bounding: restricted, features: future,
		want:        [5]capnames.Set{restricted, restricted, 0, restricted, 0},
		wantEntries: []string{capnames.AllCaps},
		wantWarn:    []string{"bounding: left out CAP_SYS_RESOURCE", "effective: left out CAP_SYS_RESOURCE", "permitted: left out CAP_SYS_RESOURCE"},
	}, {
		name:     "unknown runtime gets the table's names",
		lists:    [5][]string{{capnames.AllCaps}, {}, {}, {}, {}},
		bounding: restricted, features: &Features{Unknown: true, Reason: "no features command"},
		want:     [5]capnames.Set{restricted},
		wantWarn: []string{"bounding: left out CAP_SYS_RESOURCE"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kl := tt.kernelLast
			if kl == 0 {
				kl = last
			}
			env := Target{Env: Env{KernelLast: kl, Bounding: tt.bounding}, Features: tt.features, TrustPrivileged: tt.trust}
			out, warnings, err := FilterConfig(hookSpec(t, tt.uid, tt.annotations, tt.lists), env)
			if err != nil {
				t.Fatal(err)
			}
			got := hookGrantedSets(t, out, kl, tt.bounding)
			names := [5]string{"bounding", "effective", "inheritable", "permitted", "ambient"}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("%s grants %v, want %v", names[i], got[i].Strings(), tt.want[i].Strings())
				}
				if extra := got[i].Minus(tt.bounding); extra != 0 {
					t.Errorf("%s grants %v outside the bounding set", names[i], extra.Strings())
				}
			}
			if tt.wantEntries != nil {
				var spec specs.Spec
				_ = json.Unmarshal(out, &spec)
				if b := spec.Process.Capabilities.Bounding; !slices.Equal(b, tt.wantEntries) {
					t.Errorf("bounding entries %q, want %q", b, tt.wantEntries)
				}
			}
			for _, w := range tt.wantWarn {
				if !slices.ContainsFunc(warnings, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("no warning contains %q; warnings:\n%s", w, strings.Join(warnings, "\n"))
				}
			}
			if tt.wantWarn == nil && len(warnings) > 0 {
				t.Errorf("unexpected warnings:\n%s", strings.Join(warnings, "\n"))
			}
		})
	}
}

// TestFilterConfigKeepsOtherFields checks that the hook changes nothing but
// process.capabilities.
func TestFilterConfigKeepsOtherFields(t *testing.T) {
	in := hookSpec(t, 0, map[string]string{PodmanPrivilegedAnnotation: PodmanTrue, "other": "x"},
		[5][]string{{"CAP_KILL"}, {"CAP_KILL"}, {}, {"CAP_KILL"}, {}})
	env := Target{Env: Env{KernelLast: capnames.CAP_CHECKPOINT_RESTORE, Bounding: capnames.UpTo(capnames.CAP_CHECKPOINT_RESTORE)}, TrustPrivileged: true}
	out, _, err := FilterConfig(in, env)
	if err != nil {
		t.Fatal(err)
	}
	var before, after specs.Spec
	if err := json.Unmarshal(in, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(before.Process.Capabilities, after.Process.Capabilities) {
		t.Fatal("capabilities were not widened")
	}
	before.Process.Capabilities, after.Process.Capabilities = nil, nil
	if !reflect.DeepEqual(before, after) {
		t.Errorf("fields other than process.capabilities changed:\nin:  %s\nout: %s", in, out)
	}
}

// TestFilterConfigOldKernel gives the hook, on a 5.7 kernel, entries for
// capabilities that kernel lacks: they are dropped, and the warning says
// which release added them.
func TestFilterConfigOldKernel(t *testing.T) {
	in := `{"ociVersion":"1.3.0","process":{"user":{"uid":0,"gid":0},"cwd":"/",` +
		`"capabilities":{"bounding":["CAP_CHOWN","CAP_BPF","39","41"]}}}`
	out, warnings, err := FilterConfig([]byte(in), Target{Env: envOldKernel, Features: rtRunc})
	if err != nil {
		t.Fatal(err)
	}
	if got := hookGrantedSets(t, out, envOldKernel.KernelLast, envOldKernel.Bounding)[0]; got != capnames.SetOf(capnames.CAP_CHOWN) {
		t.Errorf("bounding grants %v, want CAP_CHOWN only", got.Strings())
	}
	want := []string{
		`process.capabilities.bounding: dropped entry "CAP_BPF": needs Linux 5.8; this kernel's last capability is 37`,
		`process.capabilities.bounding: dropped entry "39": needs Linux 5.8; this kernel's last capability is 37`,
		`process.capabilities.bounding: dropped entry "41": above this kernel's last capability, 37`,
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings\n%q\nwant\n%q", warnings, want)
	}
}

func TestFilterConfigInvalid(t *testing.T) {
	valid := `{"ociVersion":"1.3.0","process":{"user":{"uid":0,"gid":0},"cwd":"/","capabilities":{"bounding":["CAP_KILL"]}}}`
	tests := []struct {
		name, input, wantErr string
	}{
		{"empty", "", "not a JSON object"},
		{"white space", " \n", "not a JSON object"},
		{"not JSON", "capabilities: all", "not a JSON object"},
		{"array", `[{"ociVersion":"1.3.0"}]`, "not a JSON object"},
		{"null", "null", "not a JSON object"},
		{"string", `"ALL_CAPS"`, "not a JSON object"},
		{"truncated", valid[:len(valid)-3], "not a runtime spec"},
		{"trailing garbage", valid + "x", "not a runtime spec"},
		{"two objects", valid + valid, "not a runtime spec"},
		{"empty object", "{}", "no ociVersion"},
		{"other major version", `{"ociVersion":"2.0.0"}`, `ociVersion "2.0.0"`},
		{"number entry", strings.Replace(valid, `["CAP_KILL"]`, `["CAP_KILL", 21]`, 1), "process.capabilities.bounding"},
		{"null entry", strings.Replace(valid, `["CAP_KILL"]`, `["CAP_KILL", null]`, 1), "process.capabilities.bounding[1] is null, not a string"},
		{"object entry", strings.Replace(valid, `["CAP_KILL"]`, `[{"cap":"CAP_KILL"}]`, 1), "process.capabilities.bounding"},
		{"list is a string", strings.Replace(valid, `["CAP_KILL"]`, `"CAP_KILL"`, 1), "process.capabilities.bounding"},
		{"capabilities is a list", strings.Replace(valid, `{"bounding":["CAP_KILL"]}`, `["CAP_KILL"]`, 1), "process.capabilities"},
	}
	env := Target{Env: Env{KernelLast: capnames.CAP_CHECKPOINT_RESTORE, Bounding: capnames.UpTo(capnames.CAP_CHECKPOINT_RESTORE)}}
	if _, _, err := FilterConfig([]byte(valid), env); err != nil {
		t.Fatalf("the valid base input fails: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, warnings, err := FilterConfig([]byte(tt.input), env)
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("error %v, want one wrapping ErrInvalidSpec", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			}
			if out != nil || warnings != nil {
				t.Errorf("output %q and warnings %q with an error", out, warnings)
			}
		})
	}
}

func TestWidening(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		annotations map[string]string
		trust       bool
		want        bool
		wantWarn    []string
	}{
		{nil, true, false, nil},
		{map[string]string{PodmanPrivilegedAnnotation: PodmanTrue}, true, true, nil},
		{map[string]string{PodmanPrivilegedAnnotation: PodmanTrue}, false, false, []string{"not trusted"}},
		{map[string]string{PodmanPrivilegedAnnotation: PodmanFalse}, true, false, nil},
		{map[string]string{PodmanPrivilegedAnnotation: PodmanFalse}, false, false, nil},
		{map[string]string{PodmanPrivilegedAnnotation: "true"}, true, false, []string{`"true" ignored`}},
		{map[string]string{PodmanPrivilegedAnnotation: ""}, true, false, []string{`="" ignored`}},
		{map[string]string{CapabilitiesAnnotation: "all"}, true, false, []string{`capabilities="all" ignored`}},
		{map[string]string{CapabilitiesAnnotation: "ALL"}, false, false, []string{`capabilities="ALL" ignored`}},
		{map[string]string{CapabilitiesAnnotation: long}, false, false, []string{`"` + long[:64] + `"… (100 bytes) ignored`}},
		{map[string]string{CapabilitiesAnnotation: "all", PodmanPrivilegedAnnotation: PodmanTrue}, true, true, []string{`capabilities="all" ignored`}},
		{map[string]string{"x" + PodmanPrivilegedAnnotation: PodmanTrue}, true, false, nil},
	}
	for _, tt := range tests {
		got, warnings := Widening(tt.annotations, tt.trust)
		if got != tt.want || len(warnings) != len(tt.wantWarn) {
			t.Errorf("Widening(%v, %t) = %t, %q; want %t and %d warnings", tt.annotations, tt.trust, got, warnings, tt.want, len(tt.wantWarn))
			continue
		}
		for i, w := range tt.wantWarn {
			if !strings.Contains(warnings[i], w) {
				t.Errorf("Widening(%v, %t): warning %q does not contain %q", tt.annotations, tt.trust, warnings[i], w)
			}
		}
	}
}

// TestDecodeCapabilities: the refusals of DecodeConfig for what it reads,
// and none for the rest of the spec, which it leaves to the runtime.
func TestDecodeCapabilities(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"ociVersion":"1.0.2","process":{"capabilities":{"bounding":["CAP_KILL"]}}}`, true},
		{`{"ociVersion":"1.0.2","linux":"not an object","mounts":5}`, true},
		{`[]`, false},
		{`{"ociVersion":"1.0.2"} {}`, false},
		{`{"process":{}}`, false},
		{`{"ociVersion":"2.0.0"}`, false},
		{`{"ociVersion":"1.0.2","process":{"capabilities":{"bounding":[null]}}}`, false},
		{`{"ociVersion":"1.0.2","process":{"capabilities":{"bounding":[5]}}}`, false},
		{`{"ociVersion":"1.0.2","process":{"user":{"uid":"0"}}}`, false},
		{`{"ociVersion":"1.0.2","annotations":{"a":1}}`, false},
	} {
		spec, err := DecodeCapabilities([]byte(tc.in), "config.json")
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("DecodeCapabilities(%s) = %v, %v; want ok %v", tc.in, spec, err, tc.ok)
		}
	}
}
