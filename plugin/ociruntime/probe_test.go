package ociruntime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/plugin"
)

// A fakeRuntime is a shell script standing in for an OCI runtime: each run
// appends its first argument to a counter file, then runs the script's body.
type fakeRuntime struct {
	path    string
	counter string
}

// newFakeRuntime writes a fake runtime with body into a new directory.
func newFakeRuntime(t testing.TB, body string) *fakeRuntime {
	t.Helper()
	dir := t.TempDir()
	r := &fakeRuntime{path: filepath.Join(dir, "runtime"), counter: filepath.Join(dir, "runs")}
	r.write(t, body)
	return r
}

// write installs body as a new file renamed over r.path, as a package
// manager replaces a binary.
func (r *fakeRuntime) write(t testing.TB, body string) {
	t.Helper()
	script := fmt.Sprintf("#!/bin/sh\necho \"$1\" >> '%s'\n%s\n", r.counter, body)
	tmp := r.path + ".new"
	if err := os.WriteFile(tmp, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, r.path); err != nil {
		t.Fatal(err)
	}
}

// runs returns how many times the runtime was run with arg.
func (r *fakeRuntime) runs(t testing.TB, arg string) int {
	t.Helper()
	data, err := os.ReadFile(r.counter)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(data)) {
		if strings.TrimSuffix(line, "\n") == arg {
			n++
		}
	}
	return n
}

// featuresBody is a fake runtime body that prints document for "features"
// and version for "--version".
func featuresBody(t testing.TB, document, version string) string {
	t.Helper()
	dir := t.TempDir()
	doc, ver := filepath.Join(dir, "features.json"), filepath.Join(dir, "version")
	if err := os.WriteFile(doc, []byte(document), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ver, []byte(version), 0o644); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`case "$1" in
features) exec cat '%s' ;;
--version) exec cat '%s' ;;
esac
echo "unknown command $1" >&2
exit 1`, doc, ver)
}

const (
	runcLikeFeatures = `{"ociVersionMin":"1.0.0","linux":{"capabilities":["CAP_CHOWN","CAP_KILL","CAP_BPF"]},
		"annotations":{"org.opencontainers.runc.version":"1.2.3"}}`
	runcLikeVersion = "runc version 1.2.3\ncommit: v1.2.3\nspec: 1.2.0\n"
)

// runcLike is what a Prober should answer for a runtime printing
// runcLikeFeatures.
func runcLike(path string) *plugin.Features {
	return &plugin.Features{Runtime: path, Source: plugin.FromFeatures, Names: []string{"CAP_CHOWN", "CAP_KILL", "CAP_BPF"}, Version: "runc 1.2.3"}
}

func mustProbe(t testing.TB, p *Prober, runtime string) *plugin.Features {
	t.Helper()
	f, err := p.Probe(context.Background(), runtime)
	if err != nil {
		t.Fatalf("Probe(%q): %v", runtime, err)
	}
	return f
}

func assertFeatures(t testing.TB, got, want *plugin.Features) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("features:\n got %+v\nwant %+v", got, want)
	}
}

func TestProbeFeatures(t *testing.T) {
	for _, tc := range []struct {
		name, document, version string
		want                    plugin.Features
	}{{
		name:     "runc",
		document: runcLikeFeatures,
		want:     plugin.Features{Source: plugin.FromFeatures, Names: []string{"CAP_CHOWN", "CAP_KILL", "CAP_BPF"}, Version: "runc 1.2.3"},
	}, {
		name:     "crun takes numerals",
		document: `{"linux":{"capabilities":["CAP_CHOWN"]},"annotations":{"run.oci.crun.version":"1.30","run.oci.crun.commit":"x"}}`,
		want:     plugin.Features{Source: plugin.FromFeatures, Names: []string{"CAP_CHOWN"}, Numerals: true, Version: "crun 1.30"},
	}, {
		name:     "ALL_CAPS listed is no advertisement and no name",
		document: `{"linux":{"capabilities":["CAP_CHOWN","ALL_CAPS"]}}`,
		want:     plugin.Features{Source: plugin.FromFeatures, Names: []string{"CAP_CHOWN"}},
	}, {
		name:     "capabilityExtensions",
		document: `{"linux":{"capabilities":["CAP_CHOWN"],"capabilityExtensions":{"numerals":{"enabled":true},"allCaps":{"enabled":true}}}}`,
		want:     plugin.Features{Source: plugin.FromFeatures, Names: []string{"CAP_CHOWN"}, Numerals: true, AllCaps: true},
	}, {
		name:     "capabilityExtensions disabled or unknown",
		document: `{"linux":{"capabilities":["CAP_CHOWN"],"capabilityExtensions":{"numerals":{"enabled":false},"allCaps":{}}}}`,
		want:     plugin.Features{Source: plugin.FromFeatures, Names: []string{"CAP_CHOWN"}},
	}, {
		name: "runc's annotations",
		document: `{"linux":{"capabilities":["CAP_CHOWN"]},"annotations":{"org.opencontainers.runc.version":"1.5.3",` +
			`"org.opencontainers.runc.capabilities.numerals.enabled":"true","org.opencontainers.runc.capabilities.allcaps.enabled":"true"}}`,
		want: plugin.Features{Source: plugin.FromFeatures, Names: []string{"CAP_CHOWN"}, Numerals: true, AllCaps: true, Version: "runc 1.5.3"},
	}, {
		name: "runc's annotations other than true",
		document: `{"linux":{"capabilities":["CAP_CHOWN"]},"annotations":{` +
			`"org.opencontainers.runc.capabilities.numerals.enabled":"yes","org.opencontainers.runc.capabilities.allcaps.enabled":"1"}}`,
		want: plugin.Features{Source: plugin.FromFeatures, Names: []string{"CAP_CHOWN"}},
	}, {
		name:     "unnamed runtime takes no numerals",
		document: `{"linux":{"capabilities":["CAP_CHOWN","CAP_NEW_ONE"]},"annotations":{"org.example.version":"3"}}`,
		want:     plugin.Features{Source: plugin.FromFeatures, Names: []string{"CAP_CHOWN", "CAP_NEW_ONE"}},
	}, {
		name:     "empty list is known and recognises nothing",
		document: `{"linux":{"capabilities":[]}}`,
		want:     plugin.Features{Source: plugin.FromFeatures, Names: []string{}},
	}, {
		name:     "no capabilities is unknown",
		document: `{"linux":{"namespaces":["pid"]},"annotations":{"run.oci.crun.version":"1.9"}}`,
		want:     plugin.Features{Source: plugin.Assumed, Unknown: true, Reason: `"features" lists no linux.capabilities`, Numerals: true, Version: "crun 1.9"},
	}, {
		name:     "null document",
		document: "null",
		version:  runcLikeVersion,
		want:     plugin.Features{Source: plugin.Assumed, Unknown: true, Reason: `"features" lists no linux.capabilities`, Version: "runc 1.2.3"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFakeRuntime(t, featuresBody(t, tc.document, tc.version))
			got := mustProbe(t, &Prober{CacheDir: t.TempDir(), DisableTrial: true}, r.path)
			want := tc.want
			want.Runtime = r.path
			assertFeatures(t, got, &want)
			if !got.Unknown && got.Names == nil {
				t.Error("known features with nil Names would recognise every name")
			}
		})
	}
}

func TestProbeErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, runtime string
	}{
		{"empty name", ""},
		{"missing path", filepath.Join(dir, "missing")},
		{"directory", dir},
		{"not executable", plain},
		{"unconfigured name", "capgen-no-such-runtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := (&Prober{CacheDir: t.TempDir()}).Probe(context.Background(), tc.runtime)
			if !errors.Is(err, ErrRuntimeNotFound) || f != nil {
				t.Fatalf("Probe(%q) = %v, %v; want ErrRuntimeNotFound", tc.runtime, f, err)
			}
			if tc.runtime != "" && !strings.Contains(err.Error(), tc.runtime) {
				t.Errorf("error %q does not name the runtime %q", err, tc.runtime)
			}
		})
	}
}

func TestProbeCancelled(t *testing.T) {
	r := newFakeRuntime(t, featuresBody(t, runcLikeFeatures, ""))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f, err := (&Prober{CacheDir: t.TempDir()}).Probe(ctx, r.path)
	if !errors.Is(err, context.Canceled) || f != nil {
		t.Fatalf("Probe with a cancelled context = %v, %v; want context.Canceled", f, err)
	}
	if n := r.runs(t, "features"); n != 0 {
		t.Errorf("ran the runtime %d times for a cancelled context", n)
	}
}

// TestProbeName resolves a runtime name through Lookup as containers.conf's
// engine.runtimes does: the first existing path.
func TestProbeName(t *testing.T) {
	r := newFakeRuntime(t, featuresBody(t, runcLikeFeatures, ""))
	link := filepath.Join(t.TempDir(), "runtime-link")
	if err := os.Symlink(r.path, link); err != nil {
		t.Fatal(err)
	}
	lookup := func(name string) []string {
		if name != "fake" {
			return nil
		}
		return []string{filepath.Join(t.TempDir(), "absent"), "relative/runc", link, "/usr/sbin/runc"}
	}
	got := mustProbe(t, &Prober{CacheDir: t.TempDir(), Lookup: lookup}, "fake")
	assertFeatures(t, got, runcLike(r.path)) // Runtime is the resolved path
}

// TestProbeResultIsCallers checks that a caller changing its result does
// not change what the next caller gets.
func TestProbeResultIsCallers(t *testing.T) {
	r := newFakeRuntime(t, featuresBody(t, runcLikeFeatures, ""))
	p := &Prober{CacheDir: t.TempDir()}
	f := mustProbe(t, p, r.path)
	f.Names[0], f.Unknown = "CAP_SYS_ADMIN", true
	assertFeatures(t, mustProbe(t, p, r.path), runcLike(r.path))
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		output, version string
		numerals        bool
	}{
		{"crun version 1.8.1\ncommit: f8a0\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP +EBPF +YAJL\n", "crun 1.8.1", true},
		{"crun version 1.8.1\ncommit: f8a0\nspec: 1.0.0\n+SYSTEMD +SELINUX +APPARMOR +SECCOMP +YAJL\n", "crun 1.8.1", false}, // built without libcap
		{"runc version 1.1.5+ds1\ncommit: 1.1.5\nspec: 1.0.2-dev\n", "runc 1.1.5+ds1", false},
		{"youki version 0.3.0\n", "youki 0.3.0", false},
		{"crun 1.8.1 +CAP\n", "", false},
		{"", "", false},
		{"crun version 1\x1b[31m\n+CAP\n", "crun 1?[31m", true},
		{"runc version spec: 1.0.2-dev\n", "runc", false},          // runc v1.0.0-rc92 built by go install
		{"runc version unknown\nspec: 1.0.2-dev\n", "runc", false}, // runc v1.0.2 built by go install
		{"runc version \x1b[31m1\n", "runc", false},
	} {
		var f plugin.Features
		parseVersion(&f, []byte(tc.output))
		if f.Version != tc.version || f.Numerals != tc.numerals {
			t.Errorf("parseVersion(%q) = %q, numerals %t; want %q, %t", tc.output, f.Version, f.Numerals, tc.version, tc.numerals)
		}
	}
}

// TestProbeRealRunc probes the runc of this machine.
func TestProbeRealRunc(t *testing.T) {
	requireBinary(t, realRunc)
	f := mustProbe(t, &Prober{CacheDir: t.TempDir()}, realRunc)
	if f.Unknown || len(f.Names) != 41 || !slices.Contains(f.Names, "CAP_CHECKPOINT_RESTORE") {
		t.Errorf("runc features: unknown %t (%s), %d names %v; want 41 names with CAP_CHECKPOINT_RESTORE", f.Unknown, f.Reason, len(f.Names), f.Names)
	}
	if f.Numerals || f.AllCaps || !strings.HasPrefix(f.Version, "runc 1.") {
		t.Errorf("runc: numerals %t, all caps %t, version %q; want false, false, runc 1.x", f.Numerals, f.AllCaps, f.Version)
	}
}

// TestProbeRealCrun probes the crun 1.8.1 of this machine, which has no
// features command: without a trial, unknown names, but numerals, learnt
// from --version. plugin/e2e tries it.
func TestProbeRealCrun(t *testing.T) {
	const crun = "/usr/bin/crun"
	requireBinary(t, crun)
	if out, _ := exec.Command(crun, "--version").Output(); !strings.HasPrefix(string(out), "crun version 1.8.1\n") {
		t.Skipf("%s is not crun 1.8.1: %q", crun, out)
	}
	want := &plugin.Features{Runtime: crun, Source: plugin.Assumed, Unknown: true, Reason: `"features" exited with status 1: unknown command features`,
		Numerals: true, Version: "crun 1.8.1"}
	assertFeatures(t, mustProbe(t, &Prober{CacheDir: t.TempDir(), DisableTrial: true}, crun), want)
}

// TestProbeRealRuncByName resolves "runc" through this machine's
// containers.conf (or the built-in defaults).
func TestProbeRealRuncByName(t *testing.T) {
	requireBinary(t, realRunc)
	f := mustProbe(t, &Prober{CacheDir: t.TempDir()}, "runc")
	if f.Runtime != realRunc || f.Unknown {
		t.Errorf(`Probe("runc") = runtime %q unknown %t; want %s`, f.Runtime, f.Unknown, realRunc)
	}
}

// requireBinary skips the test without the binary, or fails it when
// CAPGEN_REQUIRE_E2E=1.
func requireBinary(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CAPGEN_REQUIRE_E2E") == "1" {
			t.Fatalf("CAPGEN_REQUIRE_E2E=1 but %v", err)
		}
		t.Skipf("no %s: %v", path, err)
	}
}

// Helper processes: TestProbeHelperProcess probes as a separate process
// would, when the test binary is run again with helperEnv set.
const (
	helperEnv        = "CAPGEN_PROBE_HELPER"
	helperRuntimeEnv = "CAPGEN_PROBE_RUNTIME"
	helperCacheEnv   = "CAPGEN_PROBE_CACHE_DIR"
	helperCallsEnv   = "CAPGEN_PROBE_CALLS"
	helperBarrierEnv = "CAPGEN_PROBE_BARRIER"
	helperTimeoutEnv = "CAPGEN_PROBE_TIMEOUT" // Prober.Timeout, as time.ParseDuration reads it
)

func TestProbeHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("runs only as a helper process of the probe tests")
	}
	if barrier := os.Getenv(helperBarrierEnv); barrier != "" {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			if _, err := os.Stat(barrier); err == nil || time.Now().After(deadline) {
				break
			}
		}
	}
	calls, _ := strconv.Atoi(os.Getenv(helperCallsEnv))
	timeout, _ := time.ParseDuration(os.Getenv(helperTimeoutEnv))
	p := &Prober{CacheDir: os.Getenv(helperCacheEnv), Timeout: timeout}
	out := json.NewEncoder(os.Stdout)
	for range max(calls, 1) {
		f, err := p.Probe(context.Background(), os.Getenv(helperRuntimeEnv))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := out.Encode(f); err != nil {
			os.Exit(1)
		}
	}
	os.Exit(0)
}

// helperCommand returns a command running the test binary as a helper
// process that probes runtime calls times with one Prober using cacheDir,
// prefixed by wrapper (e.g. setpriv and its arguments) when given.
func helperCommand(t testing.TB, runtime, cacheDir string, calls int, wrapper ...string) *exec.Cmd {
	args := append(wrapper, os.Args[0], "-test.run=^TestProbeHelperProcess$")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperRuntimeEnv+"="+runtime,
		helperCacheEnv+"="+cacheDir, helperCallsEnv+"="+strconv.Itoa(calls))
	return cmd
}

// helperResults runs cmd and decodes the Features it prints.
func helperResults(t testing.TB, cmd *exec.Cmd) []*plugin.Features {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper process %v: %v\n%s", cmd.Args, err, stderr.String())
	}
	return decodeResults(t, string(out))
}

func decodeResults(t testing.TB, out string) []*plugin.Features {
	t.Helper()
	var results []*plugin.Features
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var f plugin.Features
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("helper output %q: %v", sc.Text(), err)
		}
		// JSON drops an empty Names; a known answer always has one.
		if !f.Unknown && f.Names == nil {
			f.Names = []string{}
		}
		results = append(results, &f)
	}
	return results
}
