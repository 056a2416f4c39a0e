package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/engine"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// fakeRuntime writes a runtime whose features list the table's names (and
// ALL_CAPS when allCaps), so that resolve can be tested without a real one.
func fakeRuntime(t *testing.T, allCaps bool) string {
	t.Helper()
	names := capnames.Default().Set().Strings()
	if allCaps {
		names = append(names, capnames.AllCaps)
	}
	features, err := json.Marshal(map[string]any{
		"ociVersionMin": "1.0.0", "ociVersionMax": "1.1.0",
		"linux":       map[string]any{"capabilities": names},
		"annotations": map[string]string{"org.opencontainers.runc.version": "9.9.9-fake"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return fakeRuntimePrinting(t, string(features))
}

// fakeRuntimePrinting writes a runtime whose "features" prints out and
// which fails every other command.
func fakeRuntimePrinting(t *testing.T, out string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-runc")
	script := "#!/bin/sh\n[ \"$1\" = features ] || exit 1\ncat <<'EOF'\n" + out + "\nEOF\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// runResolveCmd runs resolve in-process with a prober of its own cache
// directory and returns stdout and the error.
func runResolveCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newResolveCommand()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true // as under the root command
	cmd.SetArgs(append([]string{"--cache-dir", t.TempDir()}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	return out.String(), err
}

// hostCaps returns the running kernel's capabilities and this process's
// bounding set.
func hostCaps(t *testing.T) (kernel, bounding capnames.Set) {
	t.Helper()
	last, err := capnames.KernelLast()
	if err != nil {
		t.Fatal(err)
	}
	bounding, err = capnames.Bounding()
	if err != nil {
		t.Fatal(err)
	}
	return capnames.UpTo(last), bounding
}

func decodeResolved(t *testing.T, out string) resolved {
	t.Helper()
	var r resolved
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not resolve's JSON: %v\n%s", err, out)
	}
	return r
}

// checkAllOnHost checks resolve --cap-add all against this machine: bounding,
// effective and permitted list exactly the kernel's capabilities in the
// bounding set that the runtime recognises, inheritable and ambient are
// empty, and each kernel capability outside the bounding set is reported
// left out for that reason.
func checkAllOnHost(t *testing.T, r resolved, recognised capnames.Set) {
	t.Helper()
	kernel, bounding := hostCaps(t)
	want := kernel.Intersect(bounding).Intersect(recognised).Strings()
	c := r.Capabilities
	for name, list := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
		if !slices.Equal(list, want) {
			t.Errorf("%s\n got %q\nwant %q", name, list, want)
		}
	}
	if c.Inheritable == nil || len(c.Inheritable) != 0 || c.Ambient == nil || len(c.Ambient) != 0 {
		t.Errorf("inheritable %q, ambient %q: want both present and empty", c.Inheritable, c.Ambient)
	}
	outside := kernel.Minus(bounding)
	for _, o := range r.Report.Omitted {
		if outside.Has(o.Cap) {
			if o.Reason != plugin.NotInBoundingSet || !strings.Contains(o.Text, "bounding set") {
				t.Errorf("%s left out as %v (%s), want %v", o.Name, o.Reason, o.Text, plugin.NotInBoundingSet)
			}
			outside.Remove(o.Cap)
		}
	}
	if outside != 0 {
		t.Errorf("%v outside the bounding set but not reported left out", outside.Strings())
	}
	if r.Report.Requested != kernel || r.Report.Granted != kernel.Intersect(bounding).Intersect(recognised) {
		t.Errorf("report requested %v granted %v", r.Report.Requested.Strings(), r.Report.Granted.Strings())
	}
}

func TestResolveAllFakeRuntime(t *testing.T) {
	out, err := runResolveCmd(t, "--runtime", fakeRuntime(t, false), "--cap-add", "all", "--json")
	if err != nil {
		t.Fatal(err)
	}
	r := decodeResolved(t, out)
	checkAllOnHost(t, r, capnames.Default().Set())
	if r.Report.Runtime != "runc 9.9.9-fake" || r.Report.Policy != plugin.Names {
		t.Errorf("runtime %q policy %v, want runc 9.9.9-fake and names", r.Report.Runtime, r.Report.Policy)
	}
}

// TestResolveAllRunc is the issue's check with the real runc: `capgen
// resolve --runtime runc --cap-add all`.
func TestResolveAllRunc(t *testing.T) {
	if _, err := exec.LookPath("runc"); err != nil {
		if os.Getenv("CAPGEN_REQUIRE_E2E") == "1" {
			t.Fatalf("runc: %v (CAPGEN_REQUIRE_E2E=1)", err)
		}
		t.Skipf("runc: %v", err)
	}
	var stdout, stderr bytes.Buffer
	root := newRootCommand()
	cache := t.TempDir()
	root.SetArgs([]string{"resolve", "--runtime", "runc", "--cap-add", "all", "--json", "--cache-dir", cache})
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	err := root.Execute()
	out := stdout.String()
	if err != nil {
		t.Fatal(err)
	}
	features, err := (&ociruntime.Prober{CacheDir: cache, Lookup: engine.Lookup(nil)}).Probe(t.Context(), "runc")
	if err != nil {
		t.Fatal(err)
	}
	var recognised capnames.Set
	for _, c := range capnames.All() {
		if features.Recognises(c.String()) {
			recognised.Add(c)
		}
	}
	checkAllOnHost(t, decodeResolved(t, out), recognised)
}

func TestResolveText(t *testing.T) {
	out, err := runResolveCmd(t, "--runtime", fakeRuntime(t, false), "--cap-add", "all")
	if err != nil {
		t.Fatal(err)
	}
	kernel, bounding := hostCaps(t)
	granted := kernel.Intersect(bounding).Intersect(capnames.Default().Set())
	lines := strings.Split(out, "\n")
	for _, prefix := range []string{"runtime    runc 9.9.9-fake (", "policy     names", `requested  ` + strconv.Itoa(kernel.Len()) + ` ("all")`,
		"granted    " + strconv.Itoa(granted.Len()), "bounding     " + strconv.Itoa(granted.Len()) + "  CAP_CHOWN ",
		"inheritable  0   -", "ambient      0   -"} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) }) {
			t.Errorf("no line starts with %q:\n%s", prefix, out)
		}
	}
	for _, c := range kernel.Minus(bounding).Caps() {
		if !strings.Contains(out, "  "+c.String()+"  ") || !strings.Contains(out, "not-in-bounding-set") {
			t.Errorf("%v not reported left out:\n%s", c, out)
		}
	}
	if n := strings.Count(out, "CAP_CHOWN "); n != 3 {
		t.Errorf("CAP_CHOWN in %d lists, want bounding, effective and permitted:\n%s", n, out)
	}
}

func TestResolveOptions(t *testing.T) {
	kernel, bounding := hostCaps(t)
	rt := fakeRuntime(t, true)
	tests := []struct {
		name                         string
		args                         []string
		bounding, effective, ambient []string
		policy                       plugin.Policy
	}{
		{name: "drop all, add one",
			args:     []string{"--cap-drop", "all", "--cap-add", "net_bind_service"},
			bounding: []string{"CAP_NET_BIND_SERVICE"}, effective: []string{"CAP_NET_BIND_SERVICE"}, policy: plugin.Names},
		{name: "comma-separated adds, user",
			args:      []string{"--cap-drop", "all", "--cap-add", "net_bind_service,chown", "--user", "1000:1000"},
			bounding:  []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
			effective: []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"}, ambient: []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
			policy: plugin.Names},
		{name: "keep-id without user",
			args:      []string{"--cap-drop", "all", "--cap-add", "net_bind_service,chown", "--userns", "keep-id:uid=200,gid=210"},
			bounding:  []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
			effective: []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"}, ambient: []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
			policy: plugin.Names},
		{name: "keep-id, user 0",
			args:     []string{"--cap-drop", "all", "--cap-add", "chown", "--userns", "keep-id", "--user", "0"},
			bounding: []string{"CAP_CHOWN"}, effective: []string{"CAP_CHOWN"}, policy: plugin.Names},
		{name: "other userns mode without user",
			args:     []string{"--cap-drop", "all", "--cap-add", "chown", "--userns", "auto:size=65536"},
			bounding: []string{"CAP_CHOWN"}, effective: []string{"CAP_CHOWN"}, policy: plugin.Names},
		{name: "image label",
			args:     []string{"--cap-add", "kill", "--image-label", "CAP_KILL"},
			bounding: []string{"CAP_KILL"}, effective: []string{"CAP_KILL"}, policy: plugin.Names},
		{name: "empty image label",
			args:   []string{"--image-label", ""},
			policy: plugin.Names},
	}
	if kernel.Minus(bounding) == 0 {
		tests = append(tests, struct {
			name                         string
			args                         []string
			bounding, effective, ambient []string
			policy                       plugin.Policy
		}{name: "privileged, ALL_CAPS", args: []string{"--privileged"},
			bounding: []string{"ALL_CAPS"}, effective: []string{"ALL_CAPS"}, policy: plugin.AllCaps})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runResolveCmd(t, append([]string{"--runtime", rt, "--json"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			r := decodeResolved(t, out)
			c := r.Capabilities
			if !slices.Equal(c.Bounding, orEmpty(tt.bounding)) || !slices.Equal(c.Effective, orEmpty(tt.effective)) ||
				!slices.Equal(c.Permitted, orEmpty(tt.effective)) || !slices.Equal(c.Ambient, orEmpty(tt.ambient)) ||
				!slices.Equal(c.Inheritable, orEmpty(tt.ambient)) {
				t.Errorf("lists %+v, want bounding %q, effective = permitted %q, ambient = inheritable %q",
					c, tt.bounding, tt.effective, tt.ambient)
			}
			if r.Report.Policy != tt.policy {
				t.Errorf("policy %v, want %v", r.Report.Policy, tt.policy)
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestResolveErrors(t *testing.T) {
	rt := fakeRuntime(t, false)
	tests := []struct {
		name    string
		args    []string
		wantErr error // nil: any
		want    []string
	}{
		{"bad policy", []string{"--runtime", rt, "--policy", "most"}, nil, []string{"--policy", `"most"`}},
		{"unknown cap-add", []string{"--runtime", rt, "--cap-add", "CAP_NOPE"}, capnames.ErrUnknown,
			[]string{"cap-add", `"CAP_NOPE"`, "no such name"}},
		{"confusable cap-drop", []string{"--runtime", rt, "--cap-drop", "ſys_admin"}, capnames.ErrUnknown,
			[]string{"cap-drop", `"ſys_admin"`}},
		{"added and dropped", []string{"--runtime", rt, "--cap-add", "kill", "--cap-drop", "kill"}, plugin.ErrMergeConflict,
			[]string{"CAP_KILL"}},
		{"bad image label", []string{"--runtime", rt, "--image-label", "CAP_CHOWN;CAP_KILL"}, capnames.ErrUnknown,
			[]string{"io.containers.capabilities", `"CAP_CHOWN;CAP_KILL"`}},
		{"missing runtime", []string{"--runtime", filepath.Join(t.TempDir(), "none")}, ociruntime.ErrRuntimeNotFound,
			[]string{"--runtime", "none"}},
		{"argument", []string{"--runtime", rt, "extra"}, nil, []string{"extra"}},
		{"bad userns", []string{"--runtime", rt, "--userns", "keepid"}, nil, []string{"--userns", `"keepid"`, "unknown user namespace mode"}},
		{"empty userns mode", []string{"--runtime", rt, "--userns", ":keep-id"}, nil, []string{"--userns", `":keep-id"`, `mode ""`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runResolveCmd(t, tt.args...)
			if err == nil {
				t.Fatalf("resolve succeeded:\n%s", out)
			}
			if out != "" {
				t.Errorf("printed %q with the error", out)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %q", err, tt.wantErr)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		entries []string
		width   int
		want    []string
	}{
		{nil, 10, []string{"-"}},
		{[]string{"a"}, 10, []string{"a"}},
		{[]string{"aaaa", "bbbb", "cc"}, 9, []string{"aaaa bbbb", "cc"}},
		{[]string{"aaaaaaaaaaaa", "b"}, 5, []string{"aaaaaaaaaaaa", "b"}},
	}
	for _, tt := range tests {
		if got := wrap(tt.entries, tt.width); !slices.Equal(got, tt.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.entries, tt.width, got, tt.want)
		}
	}
}

// TestCacheDirFlag checks that the commands that probe a runtime keep the
// probe's cache in --cache-dir.
func TestCacheDirFlag(t *testing.T) {
	runtime := fakeRuntime(t, false)
	spec, err := json.Marshal(specs.Spec{Version: specs.Version, Process: &specs.Process{}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		stdin []byte
	}{
		{"list", []string{"list", "--runtime", runtime}, nil},
		{"resolve", []string{"resolve", "--runtime", runtime}, nil},
		{"hook", []string{"hook", "--runtime", runtime}, spec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			root := newRootCommand()
			root.SetArgs(append(tt.args, "--cache-dir", dir))
			root.SetIn(bytes.NewReader(tt.stdin))
			root.SetOut(io.Discard)
			root.SetErr(io.Discard)
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			caches, err := filepath.Glob(filepath.Join(dir, "features-*.cache"))
			if err != nil || len(caches) != 1 {
				t.Fatalf("cache files in --cache-dir: %q (%v), want one", caches, err)
			}
			data, err := os.ReadFile(caches[0])
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), strconv.Quote(runtime)) {
				t.Errorf("%s does not name the runtime %s:\n%s", caches[0], runtime, data)
			}
		})
	}
}
