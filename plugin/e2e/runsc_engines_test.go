package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/internal/shim"
)

// runsc through the engines, each passing runsc's global options its own
// way: Podman 4.3.1's --runtime-flag (on create and start only: conmon
// runs exec and delete without them, and the shim takes them from its
// record), Docker 20.10's runtimeArgs (dockerd runs a script it writes,
// "--network none" as two words), and containerd's runc v2 shim, which
// passes a runtime none: there, as for any runtime that needs options,
// the runtime is a wrapper script that adds them. Each: --privileged on
// runsc itself fails (Docker 20.10's runs, with a capability beyond the
// host's bounding set), runs through capgen's shim, and an exec into the
// privileged container gets what runsc applies.
//
// Not CRI: behind containerd 1.6.20's runc v2 shim, runsc 20221219 runs
// every container of a pod after the first inside the pod's sandbox, and
// such a start hangs, with or without capgen and for an unprivileged
// container too; the pods then cannot be stopped. gVisor's
// containerd-shim-runsc-v1, which Debian does not ship, is its CRI path.

// runscEngine is runsc with the links and the wrapper the engines run.
type runscEngine struct {
	r       ociRuntime
	shim    string // capgen-runsc, a link to capgen
	wrapper string // runsc-nonet: runsc --network=none, for containerd
	wshim   string // capgen-runsc-nonet, a link to capgen for the wrapper
}

func newRunscEngine(t *testing.T, e *engines) runscEngine {
	t.Helper()
	r := requireRunsc(t, e.runtimes[0].r.host)
	dir := filepath.Join(e.dir, "runsc-"+strings.TrimPrefix(containerID(t), "capgen-e2e-"))
	re := runscEngine{r: r, shim: filepath.Join(dir, shim.Prefix+"runsc"),
		wrapper: filepath.Join(dir, "runsc-nonet"), wshim: filepath.Join(dir, shim.Prefix+"runsc-nonet")}
	writeFile(t, re.wrapper, []byte(fmt.Sprintf("#!/bin/sh\n# runsc without networking, which it needs on this host\nexec %q --network=none \"$@\"\n", r.path)), 0o755)
	for _, link := range []string{re.shim, re.wshim} {
		if err := os.Symlink(e.capgen, link); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return re
}

// env is the environment under which the shim for the wrapper finds it:
// $PATH with the wrapper's directory first.
func (re runscEngine) env() []string {
	return []string{"PATH=" + filepath.Dir(re.wrapper) + ":" + os.Getenv("PATH")}
}

func TestE2ERunscPodman(t *testing.T) {
	e := requireEngines(t)
	re := newRunscEngine(t, e)
	podman := func(runtime string, args ...string) (string, error) {
		global := append(append([]string{}, e.storage...), "--cgroup-manager", "cgroupfs", "--events-backend", "none",
			"--runtime", runtime, "--runtime-flag", "network=none")
		return e.run(e.podman, append(global, args...)...)
	}
	run := []string{"run", "--rm", "--network", "none", "--privileged", e.image, "grep", "Cap", "/proc/self/status"}
	if out, err := podman(re.r.path, run...); err == nil {
		t.Fatalf("podman --runtime runsc --privileged ran without capgen: %s", out)
	} else {
		t.Logf("podman --runtime runsc --privileged without capgen: %s", firstLine(lastLines(err.Error(), 1)))
	}
	out, err := podman(re.shim, run...)
	if err != nil {
		t.Fatal(err)
	}
	checkRootSets(t, "podman --runtime capgen-runsc --runtime-flag network=none run --privileged", mustStatus(t, out), re.r.applies())
	id, err := podman(re.shim, "run", "-d", "--network", "none", "--privileged", e.image, "/bin/busybox", "sleep", "600")
	if err != nil {
		t.Fatal(err)
	}
	id = strings.TrimSpace(id)
	t.Cleanup(func() { podman(re.shim, "rm", "-f", id) })
	for _, exec := range [][]string{{"exec"}, {"exec", "--privileged"}} {
		out, err := podman(re.shim, append(exec, id, "grep", "Cap", "/proc/self/status")...)
		if err != nil {
			t.Fatal(err)
		}
		checkRootSets(t, "podman "+strings.Join(exec, " ")+" into the privileged container", mustStatus(t, out), re.r.applies())
	}
	if _, err := podman(re.shim, "rm", "-f", id); err != nil {
		t.Fatal(err)
	}
	if list, _ := exec.Command(re.r.path, "list", "-quiet").Output(); strings.TrimSpace(string(list)) != "" {
		t.Errorf("runsc list after the containers were removed: %q", list)
	}
}

func TestE2ERunscContainerd(t *testing.T) {
	e := requireEngines(t)
	re := newRunscEngine(t, e)
	c := startContainerdEnv(t, re.env())
	if _, err := c.ctr("image", "import", e.saveImages(t, c.dir, e.image)); err != nil {
		t.Fatal(err)
	}
	image := e.image + ":latest"
	if out, err := c.ctr("run", "--rm", "--privileged", "--runc-binary", re.wrapper, image, containerID(t), "grep", "Cap", "/proc/self/status"); err == nil {
		t.Fatalf("ctr run --privileged on runsc ran without capgen: %s", out)
	} else {
		t.Logf("ctr run --privileged on runsc without capgen: %s", lastLines(err.Error(), 1))
	}
	ctrPrivileged(t, c, re.wshim, image, re.r.applies())
	if list, _ := exec.Command(re.r.path, "--root", c.runcRoot(), "list", "-quiet").Output(); strings.TrimSpace(string(list)) != "" {
		t.Errorf("runsc --root %s list after the containers were removed: %q", c.runcRoot(), list)
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func TestE2ERunscDocker(t *testing.T) {
	e := requireEngines(t)
	re := newRunscEngine(t, e)
	c := startContainerd(t)
	// Docker's runtimeArgs: dockerd writes a script running the path with
	// them, "--network" and "none" as two arguments.
	config := filepath.Join(c.dir, "daemon.json")
	writeFile(t, config, []byte(fmt.Sprintf(`{"runtimes": {"runsc": {"path": %q, "runtimeArgs": ["--network", "none"]}, "capgen-runsc": {"path": %q, "runtimeArgs": ["--network", "none"]}}}`,
		re.r.path, re.shim)), 0o644)
	d := startDockerdWith(t, c, config, nil)
	if _, err := d.docker("load", "-i", e.saveImages(t, c.dir, e.image)); err != nil {
		t.Fatal(err)
	}
	image := e.image + ":latest"
	// Docker 20.10 writes the capabilities it knows, 0..37: names runsc
	// 20221219 knows too, so its --privileged runs on runsc alone. But
	// gVisor's capabilities are its sentry's, not the host's: it grants
	// CAP_SYS_RESOURCE, which this host's bounding set lacks. capgen holds
	// every container to kernel ∩ bounding set ∩ runtime.
	want := re.r.applies().Intersect(dockerKnows)
	out, err := d.docker("run", "--rm", "--network", "none", "--privileged", "--runtime", "runsc", image, "grep", "Cap", "/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	alone := mustStatus(t, out)
	if beyond := alone.Bounding.Minus(e.runtimes[0].r.host.parent.Bounding); beyond == 0 {
		t.Errorf("docker run --runtime runsc --privileged: CapBnd %s, within the host's bounding set; this test rests on runsc granting more", alone.Bounding.Bitmap())
	} else {
		t.Logf("docker run --runtime runsc --privileged without capgen: CapBnd %s CapEff %s, beyond the host's bounding set: %v",
			alone.Bounding.Bitmap(), alone.Effective.Bitmap(), beyond.Strings())
	}
	for _, opt := range [][]string{{"--privileged"}, {"--cap-add", "ALL"}} {
		args := append(append([]string{"run", "--rm", "--network", "none", "--runtime", "capgen-runsc"}, opt...), image, "grep", "Cap", "/proc/self/status")
		out, err := d.docker(args...)
		if err != nil {
			t.Fatal(err)
		}
		checkRootSets(t, "docker run --runtime capgen-runsc "+strings.Join(opt, " "), mustStatus(t, out), want)
		noShimMessages(t, "docker run", out)
	}
	id, err := d.docker("run", "-d", "--network", "none", "--runtime", "capgen-runsc", "--privileged", image, "/bin/busybox", "sleep", "600")
	if err != nil {
		t.Fatal(err)
	}
	id = strings.TrimSpace(id)
	t.Cleanup(func() { d.docker("rm", "-f", id) })
	out, err = d.docker("exec", id, "grep", "Cap", "/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	checkRootSets(t, "docker exec into the privileged container", mustStatus(t, out), want)
	if _, err := d.docker("rm", "-f", id); err != nil {
		t.Fatal(err)
	}
	for _, root := range d.runcRoots() {
		if list, _ := exec.Command(re.r.path, "--root", root, "list", "-quiet").Output(); strings.TrimSpace(string(list)) != "" {
			t.Errorf("runsc --root %s list after the containers were removed: %q", root, list)
		}
	}
}
