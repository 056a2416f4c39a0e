package plugin

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Machines of the bad-input tests: this one (a 6.1 kernel whose bounding
// set lacks CAP_SYS_RESOURCE) and a 5.7 kernel.
var (
	badEnv61 = Env{KernelLast: 40, Bounding: capnames.UpTo(40).Minus(capnames.SetOf(capnames.CAP_SYS_RESOURCE))}
	badEnv57 = Env{KernelLast: 37, Bounding: capnames.UpTo(37)}
	badRunc  = &Features{Version: "runc 1.1.5", Names: namesUpTo(40)}
)

// TestBadInputApply feeds every input of a request that a user or a config
// reaches — containers.conf default_capabilities, --cap-add, --cap-drop, the
// image label, the policy — values that are not capabilities. Each must be
// rejected with an error that names where the value came from, quotes it,
// and says why, and must leave the spec as it was.
func TestBadInputApply(t *testing.T) {
	label := func(s string) *string { return &s }
	tests := []struct {
		name   string
		req    Request
		source string // where the value came from, as the message names it
		input  string // the offending value, quoted in the message
		reason string
		is     []error
	}{
		{name: "default unknown", req: Request{Defaults: []string{"CAP_CHOWN", "CAP_FOO"}},
			source: "default_capabilities", input: "CAP_FOO", reason: "no such name", is: []error{capnames.ErrUnknown}},
		{name: "default long s", req: Request{Defaults: []string{"ſys_admin"}},
			source: "default_capabilities", input: "ſys_admin", reason: "not ASCII"},
		{name: "default dotless i", req: Request{Defaults: []string{"kıll"}},
			source: "default_capabilities", input: "kıll", reason: "not ASCII"},
		{name: "default Kelvin sign", req: Request{Defaults: []string{"CAP_\u212aILL"}},
			source: "default_capabilities", input: "CAP_\u212aILL", reason: "not ASCII"},
		{name: "default fullwidth", req: Request{Defaults: []string{"ＣＡＰ_ＫＩＬＬ"}},
			source: "default_capabilities", input: "ＣＡＰ_ＫＩＬＬ", reason: "not ASCII"},
		{name: "default empty", req: Request{Defaults: []string{""}},
			source: "default_capabilities", input: "", reason: "empty"},
		{name: "default all", req: Request{Defaults: []string{"ALL"}},
			source: "default_capabilities", input: "ALL", reason: "only in cap-add or cap-drop"},
		{name: "default ALL_CAPS", req: Request{Defaults: []string{"ALL_CAPS"}},
			source: "default_capabilities", input: "ALL_CAPS", reason: "no such name"},
		{name: "default leading zero", req: Request{Defaults: []string{"07"}},
			source: "default_capabilities", input: "07", reason: "leading zero"},
		{name: "default 64", req: Request{Defaults: []string{"64"}},
			source: "default_capabilities", input: "64", reason: "above 63"},
		{name: "default huge number", req: Request{Defaults: []string{"18446744073709551617"}},
			source: "default_capabilities", input: "18446744073709551617", reason: "above 63"},
		{name: "default hex", req: Request{Defaults: []string{"0x15"}},
			source: "default_capabilities", input: "0x15", reason: "neither a decimal number nor a name"},
		{name: "default negative", req: Request{Defaults: []string{"-1"}},
			source: "default_capabilities", input: "-1", reason: "no such name"},
		{name: "default trailing newline", req: Request{Defaults: []string{"CAP_KILL\n"}},
			source: "default_capabilities", input: "CAP_KILL\n", reason: "no such name"},
		{name: "default NUL", req: Request{Defaults: []string{"CAP_KILL\x00"}},
			source: "default_capabilities", input: "CAP_KILL\x00", reason: "no such name"},
		{name: "default above kernel", req: Request{Defaults: []string{"41"}},
			source: "default_capabilities", input: "41", reason: "above this kernel's last capability"},
		{name: "default newer than kernel", req: Request{Defaults: []string{"CAP_BPF"}, Env: badEnv57},
			source: "default_capabilities", input: "CAP_BPF", reason: "needs Linux 5.8"},
		{name: "default bad even when privileged", req: Request{Privileged: true, Defaults: []string{"CAP_FOO"}},
			source: "default_capabilities", input: "CAP_FOO", reason: "no such name"},
		{name: "cap-add doubled prefix", req: Request{Adds: []string{"CAP_CAP_KILL"}},
			source: "cap-add", input: "CAP_CAP_KILL", reason: "no such name"},
		{name: "cap-add ALL_CAPS", req: Request{Adds: []string{"ALL_CAPS"}},
			source: "cap-add", input: "ALL_CAPS", reason: "no such name"},
		{name: "cap-add space", req: Request{Adds: []string{" net_admin"}},
			source: "cap-add", input: " net_admin", reason: "no such name"},
		{name: "cap-add comma list", req: Request{Adds: []string{"CAP_KILL,CAP_CHOWN"}},
			source: "cap-add", input: "CAP_KILL,CAP_CHOWN", reason: "no such name"},
		{name: "cap-add newer than kernel", req: Request{Adds: []string{"perfmon"}, Env: badEnv57},
			source: "cap-add", input: "perfmon", reason: "needs Linux 5.8"},
		{name: "cap-add numeral above kernel", req: Request{Adds: []string{"38"}, Env: badEnv57},
			source: "cap-add", input: "38", reason: "needs Linux 5.8"},
		{name: "cap-add long s", req: Request{Adds: []string{"ſys_admin"}},
			source: "cap-add", input: "ſys_admin", reason: "not ASCII"},
		{name: "cap-add too long", req: Request{Adds: []string{strings.Repeat("A", 100)}},
			source: "cap-add", input: strings.Repeat("A", 100), reason: "too long"},
		{name: "cap-drop dash", req: Request{Drops: []string{"sys-admin"}},
			source: "cap-drop", input: "sys-admin", reason: "no such name"},
		{name: "cap-drop unknown with all added", req: Request{Adds: []string{"all"}, Drops: []string{"CAP_NOPE"}},
			source: "cap-drop", input: "CAP_NOPE", reason: "no such name"},
		{name: "cap-add and cap-drop", req: Request{Adds: []string{"kill"}, Drops: []string{"KILL"}},
			source: "cap-add and cap-drop", input: "CAP_KILL", reason: "both added and dropped", is: []error{ErrMergeConflict}},
		{name: "all added and dropped", req: Request{Adds: []string{"all"}, Drops: []string{"ALL"}},
			source: "cap-add and cap-drop", input: "all", reason: "both added and dropped", is: []error{ErrMergeConflict}},
		{name: "label space after comma", req: Request{Defaults: podmanDefaults, ImageLabel: label("CAP_CHOWN, CAP_KILL")},
			source: `io.containers.capabilities="CAP_CHOWN, CAP_KILL"`, input: " CAP_KILL", reason: "no such name"},
		{name: "label trailing comma", req: Request{ImageLabel: label("CAP_CHOWN,")},
			source: "io.containers.capabilities", input: "", reason: "empty"},
		{name: "label semicolons", req: Request{ImageLabel: label("CAP_CHOWN;CAP_KILL")},
			source: "io.containers.capabilities", input: "CAP_CHOWN;CAP_KILL", reason: "no such name"},
		{name: "label ALL_CAPS", req: Request{ImageLabel: label("ALL_CAPS")},
			source: "io.containers.capabilities", input: "ALL_CAPS", reason: "no such name"},
		{name: "label newer than kernel", req: Request{ImageLabel: label("CAP_BPF"), Env: badEnv57},
			source: "io.containers.capabilities", input: "CAP_BPF", reason: "needs Linux 5.8"},
		{name: "label confusable", req: Request{ImageLabel: label("kıll")},
			source: "io.containers.capabilities", input: "kıll", reason: "not ASCII"},
		{name: "policy out of range", req: Request{Policy: Policy(9)},
			source: "emission policy", input: "", reason: "Policy(9)", is: []error{ErrInvalidPolicy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if req.Env == (Env{}) {
				req.Env = badEnv61
			}
			req.Runtime = badRunc
			before := []string{"CAP_AUDIT_WRITE"}
			spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: before}}}
			r, err := Apply(spec, req)
			if err == nil {
				t.Fatalf("accepted; bounding %q", spec.Process.Capabilities.Bounding)
			}
			msg := err.Error()
			for _, want := range append([]error{ErrInvalidRequest}, tt.is...) {
				if !errors.Is(err, want) {
					t.Errorf("error %q does not wrap %q", msg, want)
				}
			}
			if tt.input != "" || tt.is == nil {
				if q := strconv.Quote(tt.input); !strings.Contains(msg, q) && !strings.Contains(msg, " "+tt.input+" ") {
					t.Errorf("error %q does not name the input %s", msg, q)
				}
			}
			if !strings.Contains(msg, tt.source) || !strings.Contains(msg, tt.reason) {
				t.Errorf("error %q does not name the source %q and the reason %q", msg, tt.source, tt.reason)
			}
			if r != nil || !slices.Equal(spec.Process.Capabilities.Bounding, before) {
				t.Errorf("report %+v and bounding %q after the error", r, spec.Process.Capabilities.Bounding)
			}
		})
	}
}

// TestBadInputApplyAccepted covers odd values Apply accepts: they must
// never yield a capability that was not requested. Users Podman would not
// take for root are not root (so get no default capabilities in their
// effective set), and an image label asking for more than the request is
// ignored with a warning that quotes it.
func TestBadInputApplyAccepted(t *testing.T) {
	defaults := setOfNames(t, podmanDefaults...)
	tests := []struct {
		name      string
		req       Request
		bounding  capnames.Set // what the bounding list must grant
		effective capnames.Set
		warning   string // substring of a warning
	}{
		{name: "user ROOT", req: Request{User: "ROOT"}, bounding: defaults},
		{name: "user root with space", req: Request{User: "root "}, bounding: defaults},
		{name: "user 00", req: Request{User: "00"}, bounding: defaults},
		{name: "user -1", req: Request{User: "-1"}, bounding: defaults},
		{name: "user NUL", req: Request{User: "0\x00"}, bounding: defaults},
		{name: "user long s root", req: Request{User: "rooſ"}, bounding: defaults},
		{name: "user with cap-add", req: Request{User: "0 ", Adds: []string{"net_raw"}},
			bounding: defaults.Union(capnames.SetOf(capnames.CAP_NET_RAW)), effective: capnames.SetOf(capnames.CAP_NET_RAW)},
		{name: "label wider than request", req: Request{ImageLabel: ptr("CAP_SYS_ADMIN")}, bounding: defaults, effective: defaults,
			warning: `io.containers.capabilities="CAP_SYS_ADMIN" asks for CAP_SYS_ADMIN, which the request does not allow: label ignored`},
		{name: "label outside bounding set", req: Request{ImageLabel: ptr("CAP_CHOWN,sys_resource"), Adds: []string{"sys_resource"}},
			bounding: defaults, effective: defaults, warning: "label ignored"},
		{name: "label all", req: Request{ImageLabel: ptr("all")}, bounding: defaults, effective: defaults, warning: "label ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			req.Defaults, req.Env, req.Runtime = podmanDefaults, badEnv61, badRunc
			spec := &specs.Spec{}
			r, err := Apply(spec, req)
			if err != nil {
				t.Fatal(err)
			}
			if r.Sets.Bounding != tt.bounding.Intersect(badEnv61.Bounding) || r.Sets.Effective != tt.effective.Intersect(badEnv61.Bounding) {
				t.Errorf("bounding %v, effective %v; want %v, %v", r.Sets.Bounding.Strings(), r.Sets.Effective.Strings(),
					tt.bounding.Strings(), tt.effective.Strings())
			}
			c := spec.Process.Capabilities
			for i, list := range capListsOf(c) {
				got, ignored := asRuntimeReads(badRunc, list, badEnv61)
				if len(ignored) > 0 || got.Minus(tt.bounding) != 0 {
					t.Errorf("%s %q grants %v beyond %v, or has entries the runtime ignores", capListNames[i], list, got.Strings(), tt.bounding.Strings())
				}
			}
			if tt.warning != "" && !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, tt.warning) }) {
				t.Errorf("warnings %q, want one saying %q", r.Warnings, tt.warning)
			}
		})
	}
}

func TestBadInputPolicy(t *testing.T) {
	for _, in := range []string{"bogus", "", "all_caps", "name", "auto ", "ｎａｍｅｓ", "nameſ", "all-capſ"} {
		_, err := ParsePolicy(in)
		if err == nil || !strings.Contains(err.Error(), strconv.Quote(in)) || !strings.Contains(err.Error(), "want one of") {
			t.Errorf("ParsePolicy(%q) = %v; want an error quoting it and listing the policies", in, err)
		}
	}
}

// TestBadInputHook feeds the precreate hook config.json documents that are
// not what an engine writes. Each must fail with an error wrapping
// ErrInvalidSpec that names the problem, and with no output.
func TestBadInputHook(t *testing.T) {
	const caps = `"process":{"cwd":"/","capabilities":{"bounding":["CAP_KILL"]}}`
	tests := []struct {
		name string
		data string
		want []string // substrings of the message
	}{
		{"empty", ``, []string{"config.json", "not a JSON object"}},
		{"not JSON", `unknown command`, []string{"config.json", "not a JSON object"}},
		{"array", `[{"ociVersion":"1.0.0"}]`, []string{"config.json", "not a JSON object"}},
		{"truncated", `{"ociVersion":"1.0.0",` + caps, []string{"config.json", "not a runtime spec"}},
		{"trailing data", `{"ociVersion":"1.0.0",` + caps + `} {}`, []string{"config.json", "not a runtime spec"}},
		{"two documents", `{"ociVersion":"1.0.0"}{"ociVersion":"1.0.0"}`, []string{"config.json", "not a runtime spec"}},
		{"no ociVersion", `{` + caps + `}`, []string{"config.json", "no ociVersion"}},
		{"ociVersion 2", `{"ociVersion":"2.0.0",` + caps + `}`, []string{`"2.0.0"`, "not a 1.x runtime spec"}},
		{"ociVersion number", `{"ociVersion":1,` + caps + `}`, []string{"config.json", "not a runtime spec", "ociVersion"}},
		{"capabilities not object", `{"ociVersion":"1.0.0","process":{"cwd":"/","capabilities":["CAP_KILL"]}}`,
			[]string{"config.json", "not a runtime spec"}},
		{"entry number", `{"ociVersion":"1.0.0","process":{"cwd":"/","capabilities":{"bounding":[21]}}}`,
			[]string{"config.json", "not a runtime spec"}},
		{"entry null", `{"ociVersion":"1.0.0","process":{"cwd":"/","capabilities":{"effective":["CAP_KILL",null]}}}`,
			[]string{"process.capabilities.effective[1]", "null", "not a string"}},
		{"entry null, upper-case keys", `{"ociVersion":"1.0.0","Process":{"cwd":"/","Capabilities":{"AMBIENT":[null]}}}`,
			[]string{"process.capabilities.ambient[0]", "null", "not a string"}},
	}
	env := Target{Env: badEnv61, Features: badRunc}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, warnings, err := FilterConfig([]byte(tt.data), env)
			if err == nil {
				t.Fatalf("accepted; wrote %s", out)
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error %q does not wrap ErrInvalidSpec", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if out != nil || warnings != nil {
				t.Errorf("output %q and warnings %q with the error", out, warnings)
			}
		})
	}
}

// TestBadInputHookEntries checks what the hook does with entries that are
// no capability of this kernel: it drops them with a warning that quotes
// the entry and says why, and never turns them into a capability.
func TestBadInputHookEntries(t *testing.T) {
	tests := []struct {
		entry  string
		reason string
	}{
		{"CAP_FOO", "no such name"},
		{"ſys_admin", "not ASCII"},
		{"cap_sys_admin ", "no such name"},
		{"", "empty"},
		{"all", "no such name"},
		{"all_caps", "no such name"},
		{"41", "above this kernel's last capability, 40"},
		{"CAP_KILL\n", "no such name"},
		{"007", "leading zero"},
		{"64", "above 63"},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.entry), func(t *testing.T) {
			data := []byte(`{"ociVersion":"1.0.0","process":{"cwd":"/","user":{"uid":1000},"capabilities":{` +
				`"bounding":["CAP_CHOWN",` + strconv.Quote(tt.entry) + `],"effective":[` + strconv.Quote(tt.entry) + `],` +
				`"inheritable":[` + strconv.Quote(tt.entry) + `],"permitted":[],"ambient":[` + strconv.Quote(tt.entry) + `]}}}`)
			out, warnings, err := FilterConfig(data, Target{Env: badEnv61, Features: badRunc})
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeConfig(out, "config.json")
			if err != nil {
				t.Fatal(err)
			}
			for i, list := range capListsOf(got.Process.Capabilities) {
				want := capnames.Set(0)
				if i == 0 {
					want = capnames.SetOf(capnames.CAP_CHOWN)
				}
				if set, ignored := asRuntimeReads(badRunc, list, Env{KernelLast: 40, Bounding: capnames.UpTo(40)}); set != want || len(ignored) > 0 {
					t.Errorf("%s: %q, want %v", capListNames[i], list, want.Strings())
				}
			}
			for _, name := range []string{"bounding", "effective", "inheritable", "ambient"} {
				want := "process.capabilities." + name + ": dropped entry " + strconv.Quote(tt.entry)
				if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, want) && strings.Contains(w, tt.reason) }) {
					t.Errorf("warnings %q: none says %q with reason %q", warnings, want, tt.reason)
				}
			}
		})
	}
}
