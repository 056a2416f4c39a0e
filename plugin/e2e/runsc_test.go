package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/internal/shim"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// gVisor's runsc (Debian 12's 0.0~20221219.0), the runtime of the original
// reports that capgen had never run: no features command; a create naming
// CAP_PERFMON, CAP_BPF or CAP_CHECKPOINT_RESTORE fails with "cannot read
// client sync file", a message naming none of them (the reason, `unknown
// capability "CAP_PERFMON"`, is only in its debug log); the pid its state
// reports is the sandbox's, not the container's; and on this host it starts
// nothing without --network none. Without --net-raw it also takes
// CAP_NET_RAW from every container.

// runscGlobals are the global options runsc runs with here.
var runscGlobals = []string{"--network=none"}

// runscNames are the capabilities runsc 20221219 applies by name when run
// with runscGlobals: those of its table, 0..CAP_AUDIT_READ, less
// CAP_NET_RAW, which it removes without --net-raw.
var runscNames = capnames.UpTo(capnames.CAP_AUDIT_READ).Minus(capnames.SetOf(capnames.CAP_NET_RAW))

// requireRunsc returns Debian's runsc as a runtime of the matrix, or skips
// t (fails it with CAPGEN_REQUIRE_E2E=1) when it is not installed.
func requireRunsc(t *testing.T, h host) ociRuntime {
	t.Helper()
	path, err := exec.LookPath("runsc")
	if err != nil {
		unavailable(t, "runsc not installed (Debian: apt-get install runsc): %v", err)
	}
	r := newRuntime(t, h, "runsc-"+installedVersion(path), "runsc", path, capnames.CAP_AUDIT_READ)
	r.names, r.globals = runscNames, runscGlobals
	return r
}

// The problem on runsc, and capgen's shim solving it: a container whose
// lists hold every capability of the kernel, as Podman and containerd
// write for --privileged, fails on runsc itself and runs through the shim,
// with the global options written both ways runsc reads them ("--network
// none" and "--network=none"), for create, start, exec and delete.
func TestE2ERunscShim(t *testing.T) {
	h := requireHost(t)
	r := requireRunsc(t, h)
	all := h.kernel.Intersect(h.parent.Bounding).Strings()
	spec := baseSpec(root)
	spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all}
	config := marshalSpec(t, spec)
	// The baseline: runsc alone fails the container and says nothing of
	// which entry.
	if out, stderr, err := r.tryRun(t, writeBundle(t, h, config)); err == nil {
		t.Fatalf("runsc ran a container naming %d capabilities, CAP_PERFMON among them: %s", len(all), out)
	} else {
		t.Logf("runsc without capgen, every capability of the kernel: %v: %s", err, firstLine(stderr))
	}
	capgen := buildCapgen(t)
	for _, globals := range [][]string{{"--network", "none"}, {"--network=none"}} {
		t.Run(strings.Join(globals, " "), func(t *testing.T) {
			runscLifecycle(t, h, r, capgen, globals, config)
		})
	}
}

// runscLifecycle creates, starts, execs into and deletes a privileged
// container on runsc through the shim, runsc's global options globals
// before each command.
func runscLifecycle(t *testing.T, h host, r ociRuntime, capgen string, globals []string, config []byte) {
	dir := t.TempDir()
	link := filepath.Join(dir, shim.Prefix+"runsc")
	if err := os.Symlink(capgen, link); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "CAPGEN_CACHE_DIR=" + filepath.Join(dir, "cache")}
	shimRun := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		stdout, stderr := filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
		outFile, errFile := createFile(t, stdout), createFile(t, stderr)
		defer outFile.Close()
		defer errFile.Close()
		cmd := exec.CommandContext(ctx, link, slices.Concat([]string{"--root", state}, globals, args)...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, outFile, errFile
		err := cmd.Run()
		return readLog(stdout), errorWith(err, readLog(stderr))
	}
	// The shim's features: what runsc applies, learned with the options
	// given, and its advertisement of ALL_CAPS, which the shim expands.
	doc, err := shimRun("features")
	if err != nil {
		t.Fatalf("capgen-runsc features: %v", err)
	}
	var f ociruntime.Document
	if err := json.Unmarshal([]byte(doc), &f); err != nil || f.Linux == nil {
		t.Fatalf("capgen-runsc features: %v\n%s", err, doc)
	}
	if names := f.Linux.Capabilities; parseAll(t, names...) != r.applies() {
		t.Errorf("capgen-runsc features lists %q; want runsc's names %v", names, r.applies().Strings())
	}
	if x := f.Linux.CapabilityExtensions; x == nil || x.AllCaps == nil || x.AllCaps.Enabled == nil || !*x.AllCaps.Enabled || x.Numerals != nil {
		t.Errorf("capgen-runsc features: capabilityExtensions %s; want allCaps enabled, no numerals", doc)
	}
	bundle := writeBundle(t, h, config)
	id := containerID(t)
	t.Cleanup(func() {
		exec.Command(r.path, slices.Concat([]string{"--root", state}, r.globals, []string{"delete", "--force", id})...).Run()
	})
	out, err := shimRun("run", "--bundle", bundle, id)
	if err != nil {
		t.Fatalf("capgen-runsc %s run: %v", strings.Join(globals, " "), err)
	}
	checkRootSets(t, "capgen-runsc run of the privileged container", mustStatus(t, out), r.applies())

	spec := mustSpec(t, config)
	spec.Process.Args = []string{"/bin/busybox", "sleep", "60"}
	bundle = writeBundle(t, h, marshalSpec(t, spec))
	id = containerID(t)
	for _, args := range [][]string{{"create", "--bundle", bundle, id}, {"start", id}} {
		if _, err := shimRun(args...); err != nil {
			t.Fatalf("capgen-runsc %s: %v", strings.Join(args, " "), err)
		}
	}
	process := filepath.Join(dir, "process.json")
	caps := spec.Process.Capabilities
	writeFile(t, process, mustJSON(t, specs.Process{
		Args: []string{"/bin/busybox", "grep", "^Cap", "/proc/self/status"}, Cwd: "/", Env: []string{"PATH=/bin"},
		Capabilities: &specs.LinuxCapabilities{Bounding: caps.Bounding, Effective: caps.Effective, Permitted: caps.Permitted},
	}), 0o600)
	out, err = shimRun("exec", "--process", process, id)
	if err != nil {
		t.Fatalf("capgen-runsc exec: %v", err)
	}
	checkRootSets(t, "capgen-runsc exec into the privileged container", mustStatus(t, out), r.applies())
	if _, err := shimRun("state", id); err != nil {
		t.Errorf("capgen-runsc state: %v", err)
	}
	if _, err := shimRun("delete", "--force", id); err != nil {
		t.Fatalf("capgen-runsc delete --force: %v", err)
	}
	if list, _ := exec.Command(r.path, slices.Concat([]string{"--root", state}, r.globals, []string{"list", "-quiet"})...).Output(); strings.TrimSpace(string(list)) != "" {
		t.Errorf("runsc --root %s list after delete: %q", state, list)
	}
	if _, err := os.Stat(state + ".capgen"); !os.IsNotExist(err) {
		t.Errorf("the shim's record directory %s.capgen remains after delete: %v", state, err)
	}
}

// errorWith adds a command's stderr to its error.
func errorWith(err error, stderr string) error {
	if err == nil {
		return nil
	}
	return &commandError{err: err, stderr: strings.TrimSpace(stderr)}
}

type commandError struct {
	err    error
	stderr string
}

func (e *commandError) Error() string { return e.err.Error() + ": " + e.stderr }
func (e *commandError) Unwrap() error { return e.err }

// firstLine is the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// mustSpec decodes a config.json.
func mustSpec(t *testing.T, config []byte) *specs.Spec {
	t.Helper()
	var spec specs.Spec
	if err := json.Unmarshal(config, &spec); err != nil {
		t.Fatal(err)
	}
	return &spec
}

// capgen resolve for runsc, as an engine run with --network none would
// write the spec: --privileged and --cap-add all name exactly what runsc
// applies, which then runs on runsc itself, no shim in between.
func TestE2ERunscResolve(t *testing.T) {
	h := requireHost(t)
	r := requireRunsc(t, h)
	capgen := buildCapgen(t)
	cache := t.TempDir()
	for _, request := range [][]string{{"--privileged"}, {"--cap-add", "all"}} {
		args := append([]string{"resolve", "--runtime", "runsc", "--runtime-flag", "network=none", "--cache-dir", cache, "--json"}, request...)
		out, err := exec.Command(capgen, args...).Output()
		if err != nil {
			t.Fatalf("capgen %s: %v", strings.Join(args, " "), err)
		}
		var resolved struct {
			Capabilities specs.LinuxCapabilities
		}
		if err := json.Unmarshal(out, &resolved); err != nil {
			t.Fatalf("capgen resolve --json: %v\n%s", err, out)
		}
		c := resolved.Capabilities
		for list, entries := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
			if got := parseAll(t, entries...); got != r.applies() {
				t.Errorf("capgen resolve %s: %s %v; want %v", strings.Join(request, " "), list, got.Strings(), r.applies().Strings())
			}
		}
		spec := baseSpec(root)
		spec.Process.Capabilities = &c
		checkRootSets(t, "runsc running what capgen resolve "+strings.Join(request, " ")+" wrote", runConfig(t, r, marshalSpec(t, spec)), r.applies())
	}
}
