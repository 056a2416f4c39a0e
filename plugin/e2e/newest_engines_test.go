package e2e

// The hook and the shim with the newest releases of the engines, unmodified:
// Podman v5.8.2 and Buildah v1.44.0 as hack/verify-engines.sh builds them
// into $CAPGEN_E2E_ENGINES, over runc 1.1.5 and v1.0.0-rc92.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newest are unmodified Podman v5.8.2 and Buildah v1.44.0.
var newest enginesOnce

// requireNewestEngines returns the engines set up with unmodified Podman
// v5.8.2 and Buildah v1.44.0 over runc 1.1.5 and rc92.
func requireNewestEngines(t *testing.T) *engines {
	t.Helper()
	debian := requireEngines(t)
	dir := requireEnginesDir(t)
	find := func(name string) string {
		// NAME and 16 hex digits: the unmodified build, not NAME-patched-….
		builds, _ := filepath.Glob(filepath.Join(dir, "bin", name+"-????????????????", name))
		if len(builds) != 1 {
			unavailable(t, "want one unmodified %s build in %s/bin (hack/verify-engines.sh), found %d", name, dir, len(builds))
		}
		return builds[0]
	}
	podman, buildah := find("podman"), find("buildah")
	var rts []ociRuntime
	for _, er := range debian.runtimes {
		if er.r.kind == "runc" {
			rts = append(rts, er.r)
		}
	}
	// Podman 5 warns on every command of a cgroup v1 host.
	t.Setenv("PODMAN_IGNORE_CGROUPSV1_WARNING", "1")
	newest.once.Do(func() { newest.e, newest.err = newEngines(t, requireHost(t), podman, buildah, rts) })
	if newest.err != nil {
		t.Fatal(newest.err)
	}
	return newest.e
}

// requireEnginesDir returns $CAPGEN_E2E_ENGINES.
func requireEnginesDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(enginesVar)
	if dir == "" {
		unavailable(t, "%s is not set: hack/verify-engines.sh builds Podman v5.8.2 and Buildah v1.44.0 into it (/var/cache/capgen/engines)", enginesVar)
	}
	return dir
}

// podmanExecTry runs a container with runOpts through runtime, with the
// hooks directory hooksDir ("" for none), execs grep Cap
// /proc/self/status in it with execOpts, and removes it.
func (e *engines) podmanExecTry(t *testing.T, runtime, hooksDir string, runOpts, execOpts []string) (string, error) {
	t.Helper()
	global := append(append([]string{}, e.storage...), "--cgroup-manager", "cgroupfs", "--events-backend", "none", "--runtime", runtime)
	if hooksDir != "" {
		global = append(global, "--hooks-dir", hooksDir)
	}
	name := containerID(t)
	run := append(append(append([]string{}, global...), "run", "-d", "--name", name, "--network", "none",
		"--ulimit", "nofile="+e.nofile, "--ulimit", "nproc=32768:32768", "--security-opt", "seccomp=unconfined"), runOpts...)
	if out, err := e.run(e.podman, append(run, e.image, "sleep", "600")...); err != nil {
		return out, err
	}
	defer e.run(e.podman, append(append([]string{}, global...), "rm", "--force", "--time", "0", name)...)
	exec := append(append(append(append([]string{}, global...), "exec"), execOpts...), name, "grep", "Cap", "/proc/self/status")
	return e.run(e.podman, exec...)
}

// TestE2ENewestEnginesHook runs unmodified Podman v5.8.2 with capgen's
// precreate hook: --privileged and --cap-add=all get what the runtime
// applies, on rc92 too. A privileged exec gets Podman's whole bounding set,
// which no hook sees: on runc 1.1.5 that is what the runtime applies, on
// rc92 it fails the exec (unknown capability "CAP_BPF"), the gap
// docs/hook.md states.
func TestE2ENewestEnginesHook(t *testing.T) {
	e := requireNewestEngines(t)
	for _, er := range e.runtimes {
		r := er.r
		t.Run(r.name, func(t *testing.T) {
			full := r.applies()
			hook := e.writeHook(t, er.path)
			checkRootSets(t, "Podman v5.8.2 --privileged", e.podmanRun(t, er.path, hook, "--privileged"), full)
			checkRootSets(t, "Podman v5.8.2 --cap-add=all", e.podmanRun(t, er.path, hook, "--cap-add=all"), full)
			out, err := e.podmanExecTry(t, er.path, hook, nil, []string{"--privileged"})
			switch {
			case r.names.Has(39): // runc 1.1.5 names CAP_BPF
				if err != nil {
					t.Fatal(err)
				}
				checkRootSets(t, "Podman v5.8.2 exec --privileged", mustStatus(t, out), full)
			case err == nil || !strings.Contains(out, "unknown capability") || !strings.Contains(out, "CAP_BPF"):
				t.Errorf("Podman v5.8.2 exec --privileged on %s with the hook: %v; want the exec to fail naming CAP_BPF (hooks never see exec)\n%s", r.name, err, out)
			default:
				t.Logf("Podman v5.8.2 exec --privileged on %s with the hook fails, as documented: %s", r.name, lastLine(out))
			}
		})
	}
}

// TestE2ENewestEnginesShim runs unmodified Podman v5.8.2 and Buildah v1.44.0
// with the shim as their OCI runtime: --privileged, --cap-add=all, exec
// --privileged and buildah run --cap-add all get what the runtime applies.
func TestE2ENewestEnginesShim(t *testing.T) {
	e := requireNewestEngines(t)
	for _, er := range e.runtimes {
		r := er.r
		t.Run(r.name, func(t *testing.T) {
			full := r.applies()
			checkRootSets(t, "Podman v5.8.2 --privileged", e.podmanRun(t, er.shim, "", "--privileged"), full)
			checkRootSets(t, "Podman v5.8.2 --cap-add=all", e.podmanRun(t, er.shim, "", "--cap-add=all"), full)
			out, err := e.podmanExecTry(t, er.shim, "", nil, []string{"--privileged"})
			if err != nil {
				t.Fatal(err)
			}
			checkRootSets(t, "Podman v5.8.2 exec --privileged", mustStatus(t, out), full)
			out, err = e.podmanExecTry(t, er.shim, "", []string{"--privileged"}, []string{"--privileged"})
			if err != nil {
				t.Fatal(err)
			}
			checkRootSets(t, "Podman v5.8.2 exec --privileged into a --privileged container", mustStatus(t, out), full)
			checkRootSets(t, "Buildah v1.44.0 run --cap-add all", e.buildahRun(t, er.shim), full)
		})
	}
}

// lastLine is s's last non-empty line.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
