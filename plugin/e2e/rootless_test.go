package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/capgen-dev/capgen/internal/shim"
)

// Rootless podman 4.3.1 and buildah 1.28.2, run by a test user with
// subordinate ids, through capgen's hook and shim over runc v1.0.0-rc92.
// Inside the engines' user namespace capgen is uid 0 with little or no
// environment (Podman runs a hook with PATH alone, and the runtime's
// start and delete with PATH, PWD and XDG_RUNTIME_DIR); it must find the
// user's cache directory and the shim its records there, learn rc92 by
// one trial, and never read an answer an unprivileged process assumed.

// rootlessName is the test user's name; a user of that name left by a
// killed run is removed first.
const rootlessName = "capgen-e2e"

// rootless is the test user and a directory it can read with the
// binaries the engines run.
type rootless struct {
	uid, gid   int
	home, run  string // home and XDG_RUNTIME_DIR
	dir        string // capgen, the runtime wrapper, the image, the trial log
	capgen     string
	wrapper    string // rc92 behind a script that logs each command
	trialLog   string
	runtimeKey string // the wrapper's engine.runtimes name
}

// requireRootless creates the test user, or skips t (fails it with
// CAPGEN_REQUIRE_E2E=1) when the machine cannot run rootless engines. The
// user, its processes and files are removed when t ends.
func requireRootless(t *testing.T, e *engines, rc92 string) *rootless {
	t.Helper()
	for _, tool := range []string{"useradd", "userdel", "newuidmap", "newgidmap", "pkill"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, "rootless engines need %s (Debian: passwd, uidmap, procps): %v", tool, err)
		}
	}
	removeUser(rootlessName)
	if out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/sh", rootlessName).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() { removeUser(rootlessName) })
	u, err := user.Lookup(rootlessName)
	if err != nil {
		t.Fatal(err)
	}
	r := &rootless{home: u.HomeDir}
	r.uid, _ = strconv.Atoi(u.Uid)
	r.gid, _ = strconv.Atoi(u.Gid)
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		data, _ := os.ReadFile(f)
		if !bytes.Contains(data, []byte(rootlessName+":")) {
			appendLine(t, f, rootlessName+":300000:65536")
		}
	}
	r.run = fmt.Sprintf("/run/user/%d", r.uid)
	if err := os.MkdirAll(r.run, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(r.run, r.uid, r.gid); err != nil {
		t.Fatal(err)
	}
	r.dir, err = os.MkdirTemp("", "capgen-e2e-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(r.dir) })
	for _, f := range []struct{ from, to string }{{e.capgen, "capgen"}, {rc92, "rc92"}, {filepath.Join(e.dir, "image.tar"), "image.tar"}} {
		if err := copyFile(f.from, filepath.Join(r.dir, f.to)); err != nil {
			t.Fatal(err)
		}
	}
	r.capgen, r.trialLog = filepath.Join(r.dir, "capgen"), filepath.Join(r.dir, "runtime.log")
	r.wrapper = filepath.Join(r.dir, "rc92-logged")
	writeFile(t, r.wrapper, []byte(fmt.Sprintf("#!/bin/sh\necho \"$*\" >>%s\nexec %s \"$@\"\n", r.trialLog, filepath.Join(r.dir, "rc92"))), 0o755)
	writeFile(t, r.trialLog, nil, 0o644)
	if err := os.Chown(r.trialLog, r.uid, r.gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.runtimeKey = "capgen-e2e-rc92"
	conf := filepath.Join(r.home, ".config", "containers", "containers.conf")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, conf, []byte(fmt.Sprintf("[engine.runtimes]\n%q = [%q]\n", r.runtimeKey, r.wrapper)), 0o644)
	if err := exec.Command("chown", "-R", u.Uid+":"+u.Gid, filepath.Join(r.home, ".config")).Run(); err != nil {
		t.Fatal(err)
	}
	if out, err := r.cmd(nil, "podman", r.podmanArgs("import", filepath.Join(r.dir, "image.tar"), "localhost/capgen-e2e-busybox")...); err != nil {
		unavailable(t, "rootless podman cannot import an image here: %v\n%s", err, out)
	}
	return r
}

// removeUser kills the user's processes (rootless Podman's pause process
// outlives every command) and removes the user, its home, its runtime
// directory and its subordinate ids.
func removeUser(name string) {
	u, err := user.Lookup(name)
	if err != nil {
		return
	}
	exec.Command("pkill", "-KILL", "-U", u.Uid).Run()
	exec.Command("userdel", "--remove", name).Run()
	os.RemoveAll("/run/user/" + u.Uid)
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var kept []string
		for _, l := range strings.SplitAfter(string(data), "\n") {
			if !strings.HasPrefix(l, name+":") {
				kept = append(kept, l)
			}
		}
		os.WriteFile(f, []byte(strings.Join(kept, "")), 0o644)
	}
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, line); err != nil {
		t.Fatal(err)
	}
}

// cmd runs bin as the user with a login's environment and env added.
func (r *rootless) cmd(env []string, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, bin, args...)
	c.Dir = r.dir
	c.Env = append([]string{"HOME=" + r.home, "USER=" + rootlessName, "LOGNAME=" + rootlessName,
		"XDG_RUNTIME_DIR=" + r.run, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid)}}
	out, err := c.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s (as %s): %v\n%s", bin, strings.Join(args, " "), rootlessName, err, out)
	}
	return string(out), nil
}

// podmanArgs are podman's global flags for the user's runs and args.
func (r *rootless) podmanArgs(args ...string) []string {
	return append([]string{"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"}, args...)
}

// podmanRun runs grep Cap /proc/self/status in a privileged rootless
// podman container with the runtime and podman flags given.
func (r *rootless) podmanRun(t *testing.T, runtime string, flags ...string) string {
	t.Helper()
	args := append(r.podmanArgs(flags...), "--runtime", runtime, "run", "--rm", "--network", "none", "--privileged",
		"--security-opt", "seccomp=unconfined", "localhost/capgen-e2e-busybox", "grep", "Cap", "/proc/self/status")
	out, err := r.cmd(nil, "podman", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// trials counts the containers the trials created so far: the wrapper's
// create commands for a capgen-trial- id.
func (r *rootless) trials(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile(r.trialLog)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "create") && strings.Contains(l, "capgen-trial-") {
			n++
		}
	}
	return n
}

// cacheDir is where capgen keeps the user's probe cache, and the shim its
// records: found from inside the user namespace with no environment.
func (r *rootless) cacheDir() string { return filepath.Join(r.run, "containers", "capgen") }

// leftovers fails t when runc's rootless root or the shim's records hold
// anything.
func (r *rootless) leftovers(t *testing.T, rc92 string) {
	t.Helper()
	root := filepath.Join(r.run, "runc")
	if list, _ := exec.Command(rc92, "--root", root, "list", "-q").Output(); strings.TrimSpace(string(list)) != "" {
		t.Errorf("runc --root %s list after the containers were removed: %q", root, list)
	} else {
		t.Logf("runc --root %s list after the containers were removed: empty", root)
	}
	if left, _ := filepath.Glob(filepath.Join(r.cacheDir(), "shim-records", "*")); len(left) > 0 {
		t.Errorf("shim records left behind: %q", left)
	}
}

func TestE2ERootless(t *testing.T) {
	e := requireEngines(t)
	var rc92 engineRuntime
	for _, er := range e.runtimes {
		if er.r.name == "runc-v1.0.0-rc92" {
			rc92 = er
		}
	}
	r := requireRootless(t, e, rc92.r.path)
	// In the engine's user namespace the bounding set is full: rc92
	// applies every capability it names, 0..37, within the kernel.
	want := rc92.r.host.kernel.Intersect(rc92.r.names)

	// An unprivileged resolve cannot run a trial: it must assume, and
	// leave no answer for the engines to read.
	out, err := r.cmd(nil, r.capgen, "resolve", "--runtime", r.wrapper, "--privileged")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "assumed") {
		t.Errorf("unprivileged resolve did not say it assumed:\n%s", out)
	}
	if cached, _ := filepath.Glob(filepath.Join(r.cacheDir(), "features-*.cache")); len(cached) > 0 {
		t.Fatalf("unprivileged resolve cached an assumed answer: %q", cached)
	}

	t.Run("hook", func(t *testing.T) {
		hooks := filepath.Join(r.dir, "hooks.d")
		writeFile(t, filepath.Join(hooks, "99-capgen.json"), hookFileFor(t, r.capgen, "--runtime", r.wrapper), 0o644)
		before := r.trials(t)
		checkRootSets(t, "rootless podman --privileged, hook, first container", mustStatus(t, r.podmanRun(t, r.wrapper, "--hooks-dir", hooks)), want)
		first := r.trials(t) - before
		checkRootSets(t, "rootless podman --privileged, hook, second container", mustStatus(t, r.podmanRun(t, r.wrapper, "--hooks-dir", hooks)), want)
		second := r.trials(t) - before - first
		t.Logf("trial containers: %d for the first container, %d for the second", first, second)
		if first == 0 || second != 0 {
			t.Errorf("trial containers: %d for the first container, %d for the second; want some, then none", first, second)
		}
		if cached, _ := filepath.Glob(filepath.Join(r.cacheDir(), "features-*.cache")); len(cached) == 0 {
			t.Errorf("the hook cached nothing in %s", r.cacheDir())
		}
		r.leftovers(t, rc92.r.path)
	})
	t.Run("podman shim", func(t *testing.T) {
		link := filepath.Join(r.dir, shim.Prefix+r.runtimeKey)
		if err := os.Symlink("capgen", link); err != nil {
			t.Fatal(err)
		}
		out := r.podmanRun(t, link)
		checkRootSets(t, "rootless podman --privileged through the shim", mustStatus(t, out), want)
		noShimMessages(t, "rootless podman", out)
		r.leftovers(t, rc92.r.path)
	})
	t.Run("buildah shim", func(t *testing.T) {
		link := filepath.Join(r.dir, shim.Prefix+r.runtimeKey)
		name := containerID(t)
		if _, err := r.cmd(nil, "buildah", "--storage-driver", "vfs", "from", "--name", name, "--security-opt", "seccomp=unconfined",
			"localhost/capgen-e2e-busybox"); err != nil {
			t.Fatal(err)
		}
		defer r.cmd(nil, "buildah", "--storage-driver", "vfs", "rm", name)
		out, err := r.cmd(nil, "buildah", "--storage-driver", "vfs", "run", "--network", "none", "--runtime", link,
			"--cap-add", "all", name, "grep", "Cap", "/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		checkRootSets(t, "rootless buildah run --cap-add all through the shim", mustStatus(t, out), want)
		noShimMessages(t, "rootless buildah", out)
		r.leftovers(t, rc92.r.path)
	})
}
