package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"go.podman.io/common/pkg/capabilities"
	"go.podman.io/common/pkg/config"
	"go.podman.io/common/pkg/hooks"
	hooksexec "go.podman.io/common/pkg/hooks/exec"
)

// shippedHook is the hooks.d file this repository ships.
const shippedHook = "hooks.d/99-capgen.json"

// podmanStages are the extension stages Podman gives hooks.New
// (libpod/container_internal.go, setupOCIHooks).
var podmanStages = []string{"precreate", "poststop"}

// TestHookBinary builds capgen once and runs it as Podman would run the
// hook.
func TestHookBinary(t *testing.T) {
	bin := buildCapgen(t, t.TempDir())
	for _, tt := range []struct {
		name string
		test func(*testing.T, string)
	}{
		{"PodmanHookRunner", testHookWithPodmanHookRunner},
		{"FailureFailsTheContainer", testHookFailureFailsTheContainer},
		{"AnnotationMatching", testHookAnnotationMatching},
		{"FileBreaksBuildah", testHookFileBreaksBuildah},
		{"InvalidInput", testHookInvalidInput},
		{"MaterializesWithoutAnnotation", testHookMaterializesWithoutAnnotation},
		{"InputFile", testHookInputFile},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, bin) })
	}
}

// buildCapgen builds this command into dir and returns the binary's path.
func buildCapgen(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go") // go test puts its own go first on PATH
	if err != nil {
		t.Fatalf("no go tool to build capgen: %v", err)
	}
	bin := filepath.Join(dir, "capgen")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// installHook writes the shipped hooks.d file into a new hooks directory,
// with hook.path pointing at bin (the loader requires the path to exist),
// a cache directory of the test's own and extra arguments appended, and
// returns the directory.
func installHook(t *testing.T, bin string, extraArgs ...string) string {
	t.Helper()
	data, err := os.ReadFile(shippedHook)
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatalf("%s: %v", shippedHook, err)
	}
	hook := file["hook"].(map[string]any)
	if hook["path"] != "/usr/bin/capgen" {
		t.Errorf("%s: hook.path %v, want the documented /usr/bin/capgen", shippedHook, hook["path"])
	}
	hook["path"] = bin
	for _, a := range append([]string{"--cache-dir", t.TempDir()}, extraArgs...) {
		hook["args"] = append(hook["args"].([]any), a)
	}
	if data, err = json.Marshal(file); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(shippedHook)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// podmanSpec returns a spec with capabilities as Podman's
// securityConfigureGenerator writes them: for root, bounding, effective
// and permitted are caps and inheritable and ambient are empty; for
// another user, bounding is caps and the others hold the explicit adds.
func podmanSpec(uid uint32, annotations map[string]string, caps, adds []string) *specs.Spec {
	c := &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps, Inheritable: []string{}, Ambient: []string{}}
	if uid != 0 {
		c.Effective, c.Permitted, c.Inheritable, c.Ambient = adds, adds, adds, adds
	}
	return &specs.Spec{
		Version:     specs.Version,
		Annotations: annotations,
		Root:        &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: []string{"/bin/sh"}, Cwd: "/", Env: []string{"PATH=/bin"},
			User:         specs.User{UID: uid, GID: uid},
			Capabilities: c,
		},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}},
	}
}

// runtimeAccepts returns the capabilities runtime can be given, from its
// own features output: the names it lists, every capability if it takes
// numerals (crun), and the table's names when it has no features command.
func runtimeAccepts(t *testing.T, runtime string) capnames.Set {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, runtime, "features").Output()
	if ctx.Err() != nil {
		// Falling back to the table here would hide a hung or slow runtime.
		t.Fatalf("%s features: %v", runtime, ctx.Err())
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return capnames.Default().Set() // crun 1.8.1: no features command
	}
	if err != nil {
		t.Fatalf("%s features: %v", runtime, err)
	}
	var f features.Features
	if err := json.Unmarshal(out, &f); err != nil {
		t.Fatalf("%s features: %v", runtime, err)
	}
	if _, ok := f.Annotations["run.oci.crun.version"]; ok {
		return capnames.UpTo(capnames.MaxCap)
	}
	var s capnames.Set
	if f.Linux != nil {
		for _, name := range f.Linux.Capabilities {
			if c, err := capnames.Parse(name); err == nil {
				s.Add(c)
			}
		}
	}
	return s
}

// resolveRuntime finds the binary of a containers.conf runtime name: the
// first existing path engine.runtimes lists for it, else $PATH.
func resolveRuntime(t *testing.T, cfg *config.Config, name string) string {
	t.Helper()
	for _, path := range cfg.Engine.OCIRuntimes[name] {
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("default runtime %q not found: %v", name, err)
	}
	return path
}

// hostAllowed is every capability of the running kernel in this process's
// bounding set.
func hostAllowed(t *testing.T) capnames.Set {
	t.Helper()
	last, err := capnames.KernelLast()
	if err != nil {
		t.Fatal(err)
	}
	bounding, err := capnames.Bounding()
	if err != nil {
		t.Fatal(err)
	}
	return capnames.UpTo(last).Intersect(bounding)
}

func listSets(t *testing.T, c *specs.LinuxCapabilities) [5]capnames.Set {
	t.Helper()
	last, err := capnames.KernelLast()
	if err != nil {
		t.Fatal(err)
	}
	var sets [5]capnames.Set
	for i, list := range [5][]string{c.Bounding, c.Effective, c.Inheritable, c.Permitted, c.Ambient} {
		set, unmapped, err := capnames.Materialize(list, last)
		if err != nil {
			t.Fatal(err)
		}
		if len(unmapped) > 0 {
			t.Errorf("list %d holds entries no runtime maps: %q", i, unmapped)
		}
		sets[i] = set
	}
	return sets
}

// testHookWithPodmanHookRunner runs the built capgen through
// go.podman.io/common's hook manager and RuntimeConfigFilter, the path
// Podman takes for precreate hooks, and checks the capabilities the spec
// ends with against the kernel, the bounding set and the runtime's own
// features.
func testHookWithPodmanHookRunner(t *testing.T, bin string) {
	allowed := hostAllowed(t)
	podmanPrivileged, err := capabilities.BoundingSet()
	if err != nil {
		t.Fatal(err)
	}
	defaults := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"}
	net := capnames.SetOf(capnames.CAP_NET_BIND_SERVICE)
	ours := map[string]string{plugin.CapabilitiesAnnotation: "all", plugin.PodmanPrivilegedAnnotation: plugin.PodmanFalse}
	privileged := map[string]string{plugin.PodmanPrivilegedAnnotation: plugin.PodmanTrue}
	unprivileged := map[string]string{plugin.PodmanPrivilegedAnnotation: plugin.PodmanFalse}
	trust := []string{"--widen-privileged"}

	// How the lists end: as written (each limited to what kernel, bounding
	// set and runtime allow), or widened.
	const (
		asWritten     = "as written"
		widenAll      = "bounding, effective and permitted widened"
		widenBounding = "bounding widened"
	)
	tests := []struct {
		name        string
		runtime     string   // "" runs the shipped arguments: containers.conf's default runtime
		args        []string // added to the shipped arguments
		uid         uint32
		annotations map[string]string
		caps        []string
		want        string
	}{
		{"not privileged, root, default runtime", "", nil, 0, unprivileged, defaults, asWritten},
		{"capgen's former annotation ignored, root, runc", "runc", trust, 0, ours, defaults, asWritten},
		{"capgen's former annotation ignored, user 1000, crun", "crun", trust, 1000, ours, defaults, asWritten},
		{"podman --privileged, shipped arguments, runc", "runc", nil, 0, privileged, podmanPrivileged, asWritten},
		{"podman --privileged, marker untrusted, short list", "runc", nil, 0, privileged, defaults, asWritten},
		{"podman --privileged, trusted, root, runc", "runc", trust, 0, privileged, defaults, widenAll},
		{"podman --privileged, trusted, root, crun", "crun", trust, 0, privileged, defaults, widenAll},
		{"podman --privileged, trusted, root, default runtime", "", trust, 0, privileged, defaults, widenAll},
		{"podman --privileged, trusted, user 1000, crun", "crun", trust, 1000, privileged, defaults, widenBounding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runtime := tt.runtime
			var args []string
			if runtime != "" {
				path, err := exec.LookPath(runtime)
				if err != nil {
					t.Skipf("no %s: %v", runtime, err)
				}
				args = []string{"--runtime", runtime}
				runtime = path
			} else {
				cfg, err := config.Default()
				if err != nil {
					t.Fatal(err)
				}
				if runtime = cfg.Engine.OCIRuntime; runtime == "" {
					t.Skip("containers.conf names no default runtime")
				}
				runtime = resolveRuntime(t, cfg, runtime)
			}
			dir := installHook(t, bin, append(args, tt.args...)...)
			manager, err := hooks.New(context.Background(), []string{dir}, podmanStages)
			if err != nil {
				t.Fatal(err)
			}
			spec := podmanSpec(tt.uid, tt.annotations, tt.caps, []string{"CAP_NET_BIND_SERVICE"})
			before := podmanSpec(tt.uid, tt.annotations, tt.caps, []string{"CAP_NET_BIND_SERVICE"})
			extension, err := manager.Hooks(spec, spec.Annotations, false)
			if err != nil {
				t.Fatal(err)
			}
			precreate := extension["precreate"]
			if len(precreate) != 1 || precreate[0].Path != bin {
				t.Fatalf("precreate hooks %+v, want the capgen hook", precreate)
			}
			spec.Hooks = nil // what Hooks added for the runtime's own stages
			if _, err := hooksexec.RuntimeConfigFilterWithOptions(context.Background(), hooksexec.RuntimeConfigFilterOptions{
				Hooks: precreate, Dir: t.TempDir(), Config: spec, PostKillTimeout: hooksexec.DefaultPostKillTimeout,
			}); err != nil {
				t.Fatalf("RuntimeConfigFilter: %v", err)
			}

			applies := allowed.Intersect(runtimeAccepts(t, runtime))
			written := listSets(t, before.Process.Capabilities)
			got := listSets(t, spec.Process.Capabilities)
			var wantSets [5]capnames.Set
			switch tt.want {
			case asWritten:
				for i := range written {
					wantSets[i] = written[i].Intersect(applies)
				}
			case widenAll:
				wantSets = [5]capnames.Set{applies, applies, 0, applies, 0}
			case widenBounding:
				wantSets = [5]capnames.Set{applies, net, net, net, net}
			}
			names := [5]string{"bounding", "effective", "inheritable", "permitted", "ambient"}
			for i := range got {
				if got[i] != wantSets[i] {
					t.Errorf("%s = %v, want %v (%s, kernel ∩ bounding set ∩ %s)", names[i], got[i].Strings(), wantSets[i].Strings(), tt.want, runtime)
				}
				if extra := got[i].Minus(allowed); extra != 0 {
					t.Errorf("%s grants %v, which kernel and bounding set do not allow", names[i], extra.Strings())
				}
			}
			if missing := capnames.UpTo(capnames.MaxCap).Minus(allowed).Intersect(got[0]); missing != 0 {
				t.Errorf("bounding holds %v outside this process's bounding set", missing.Strings())
			}
			spec.Process.Capabilities, before.Process.Capabilities = nil, nil
			if !reflect.DeepEqual(spec, before) {
				t.Errorf("the hook changed more than process.capabilities:\ngot  %+v\nwant %+v", spec, before)
			}
		})
	}
}

// testHookFailureFailsTheContainer checks that a hook error reaches Podman
// as an error of RuntimeConfigFilter, with the spec untouched.
func testHookFailureFailsTheContainer(t *testing.T, bin string) {
	manager, err := hooks.New(context.Background(), []string{installHook(t, bin)}, podmanStages)
	if err != nil {
		t.Fatal(err)
	}
	// An ociVersion the hook does not take: its input error.
	spec := podmanSpec(0, nil, []string{"CAP_KILL"}, nil)
	before := podmanSpec(0, nil, []string{"CAP_KILL"}, nil)
	spec.Version, before.Version = "2.0.0", "2.0.0"
	extension, err := manager.Hooks(spec, spec.Annotations, false)
	if err != nil {
		t.Fatal(err)
	}
	spec.Hooks, before.Hooks = nil, nil
	_, err = hooksexec.RuntimeConfigFilterWithOptions(context.Background(), hooksexec.RuntimeConfigFilterOptions{
		Hooks: extension["precreate"], Config: spec, PostKillTimeout: hooksexec.DefaultPostKillTimeout,
	})
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("RuntimeConfigFilter error %v, want the hook's exit status", err)
	}
	if !reflect.DeepEqual(spec, before) {
		t.Errorf("spec changed by a failed hook: %+v", spec)
	}
}

// testHookAnnotationMatching checks that the shipped hooks.d file injects
// the hook for every container, whatever its annotations, using the hook
// manager Podman uses: the hook materialises and limits every list, and
// widening does not depend on the hook being injected.
func testHookAnnotationMatching(t *testing.T, bin string) {
	manager, err := hooks.New(context.Background(), []string{installHook(t, bin)}, podmanStages)
	if err != nil {
		t.Fatal(err)
	}
	for _, annotations := range []map[string]string{
		nil,
		{plugin.PodmanPrivilegedAnnotation: plugin.PodmanFalse},
		{plugin.PodmanPrivilegedAnnotation: plugin.PodmanTrue},
		{plugin.CapabilitiesAnnotation: "all"},
		{"x" + plugin.CapabilitiesAnnotation: "allx"},
	} {
		spec := podmanSpec(0, annotations, []string{"CAP_KILL"}, nil)
		extension, err := manager.Hooks(spec, annotations, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(extension["precreate"]) != 1 {
			t.Errorf("annotations %v: %d precreate hooks injected, want 1", annotations, len(extension["precreate"]))
		}
		if spec.Hooks != nil && !reflect.DeepEqual(*spec.Hooks, specs.Hooks{}) {
			t.Errorf("annotations %v: the hook leaked into the runtime's hooks: %+v", annotations, spec.Hooks)
		}
	}
}

// testHookFileBreaksBuildah documents why the hook is for Podman only:
// Buildah's setupOCIHooks calls hooks.New with no extension stages, and a
// file with stage "precreate" then fails to load.
func testHookFileBreaksBuildah(t *testing.T, bin string) {
	_, err := hooks.New(context.Background(), []string{installHook(t, bin)}, []string{})
	if err == nil || !strings.Contains(err.Error(), `unknown stage "precreate"`) {
		t.Fatalf("hooks.New without extension stages: %v, want unknown stage \"precreate\"", err)
	}
}

// testHookInvalidInput runs the built capgen hook on bad input, with the
// empty environment RuntimeConfigFilter gives hooks: exit status 1,
// nothing on stdout, and the problem named on stderr.
func testHookInvalidInput(t *testing.T, bin string) {
	valid, err := json.Marshal(podmanSpec(0, nil, []string{"CAP_KILL"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		stdin      []byte
		wantStderr string
	}{
		{"empty", nil, nil, "not a JSON object"},
		{"not JSON", nil, []byte("bounding: ALL_CAPS\n"), "not a JSON object"},
		{"array", nil, []byte("[]"), "not a JSON object"},
		{"not a spec", nil, []byte(`{"process":{}}`), "no ociVersion"},
		{"trailing garbage", nil, append(append([]byte{}, valid...), "}"...), "not a runtime spec"},
		{"number entry", nil, bytes.Replace(valid, []byte(`"CAP_KILL"`), []byte(`39`), 1), "process.capabilities.bounding"},
		{"null entry", nil, bytes.Replace(valid, []byte(`"CAP_KILL"`), []byte(`null`), 1), "process.capabilities.bounding[0] is null"},
		{"over 16 MiB", nil, append(append([]byte{}, valid[:len(valid)-1]...),
			append([]byte(`,"x":"`+strings.Repeat("a", plugin.MaxSpecSize)), `"}`...)...), "larger than 16777216 bytes"},
		{"bad policy", []string{"--policy", "most"}, valid, `policy "most"`},
		{"stray argument", []string{"extra"}, valid, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"hook", "--cache-dir", t.TempDir()}, tt.args...)...)
			cmd.Env = []string{}
			cmd.Stdin = bytes.NewReader(tt.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1; stderr: %s", err, stderr.Bytes())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout is not empty: %.200q", stdout.Bytes())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

// testHookMaterializesWithoutAnnotation runs the built hook directly on a
// spec holding ALL_CAPS, a numeral and an unknown name.
func testHookMaterializesWithoutAnnotation(t *testing.T, bin string) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skipf("no runc: %v", err)
	}
	spec := podmanSpec(0, nil, []string{capnames.AllCaps}, nil)
	spec.Process.Capabilities.Effective = []string{"21", "CAP_NOT_A_CAP"}
	in, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "hook", "--runtime", runc, "--cache-dir", t.TempDir())
	cmd.Env = []string{}
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("capgen hook: %v\n%s", err, stderr.Bytes())
	}
	var got specs.Spec
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output is not a spec: %v", err)
	}
	sets := listSets(t, got.Process.Capabilities)
	want := hostAllowed(t).Intersect(runtimeAccepts(t, runc))
	if sets[0] != want || sets[3] != want {
		t.Errorf("bounding %v and permitted %v, want %v", sets[0].Strings(), sets[3].Strings(), want.Strings())
	}
	if wantEff := capnames.SetOf(capnames.CAP_SYS_ADMIN).Intersect(want); sets[1] != wantEff {
		t.Errorf("effective %v, want %v", sets[1].Strings(), wantEff.Strings())
	}
	if !strings.Contains(stderr.String(), `dropped entry "CAP_NOT_A_CAP"`) {
		t.Errorf("stderr does not warn about the unknown entry: %s", stderr.Bytes())
	}
}

// testHookInputFile: --input FILE gives what the same spec on stdin gives,
// and a file that cannot be read is an error naming the flag.
func testHookInputFile(t *testing.T, bin string) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skipf("no runc: %v", err)
	}
	in, err := json.Marshal(podmanSpec(0, nil, []string{capnames.AllCaps}, nil))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, in, 0o644); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	stdin := exec.Command(bin, "hook", "--runtime", runc, "--cache-dir", cache)
	stdin.Stdin = bytes.NewReader(in)
	want, err := stdin.Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(bin, "hook", "--runtime", runc, "--cache-dir", cache, "--input", file).Output()
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("hook --input: %v\n%s\nwant what stdin gives:\n%s", err, got, want)
	}
	out, err := exec.Command(bin, "hook", "--runtime", runc, "--cache-dir", cache, "--input", file+".missing").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--input") || !strings.Contains(string(out), "config.json.missing") {
		t.Errorf("hook --input of a missing file: %v: %s; want an error naming --input and the file", err, out)
	}
}
