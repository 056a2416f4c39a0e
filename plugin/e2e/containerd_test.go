package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/internal/shim"
)

// Debian's containerd 1.6.20, driven by ctr, with the shim as the runc
// binary of its runc v2 shim: a privileged container, and an exec into a
// privileged container, which containerd passes as a process file. rc92
// fails both on CAP_PERFMON without capgen.

// containerd is a containerd daemon of the test's own: root, state and
// socket in a temporary directory, stopped by its PID.
type containerd struct {
	dir, sock, namespace string
	ctrBin               string // the release's ctr
	cmd                  *exec.Cmd
	hadRun               bool // /run/containerd existed before: remove only the namespace's runc root
}

// A containerdRelease is a containerd of the matrix: Debian's 1.6.20, or
// v2.4.2 as hack/build-runtimes.sh builds it into $CAPGEN_E2E_RUNTIMES
// (containerd, containerd-shim-runc-v2 and ctr in one directory).
type containerdRelease struct {
	name, containerd, ctr string
	dir                   string // put first in the daemon's $PATH, for its runc v2 shim; "" for Debian's
}

// debianContainerd is Debian's containerd, or skips t (fails it with
// CAPGEN_REQUIRE_E2E=1) when it is not installed.
func debianContainerd(t *testing.T) containerdRelease {
	t.Helper()
	bin, err := exec.LookPath("containerd")
	ctr, errCtr := exec.LookPath("ctr")
	if err != nil || errCtr != nil {
		unavailable(t, "containerd or ctr not installed (Debian: apt-get install containerd): %v %v", err, errCtr)
	}
	return containerdRelease{name: "containerd-1.6.20", containerd: bin, ctr: ctr}
}

// containerd2 is containerd v2.4.2 from $CAPGEN_E2E_RUNTIMES.
func containerd2(t *testing.T) containerdRelease {
	t.Helper()
	dir := filepath.Join(os.Getenv(runtimesVar), "containerd-v2.4.2")
	if os.Getenv(runtimesVar) == "" {
		unavailable(t, "%s is not set: no containerd v2.4.2 (hack/build-runtimes.sh builds it)", runtimesVar)
	}
	for _, b := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			unavailable(t, "containerd v2.4.2 is not built: %v (hack/build-runtimes.sh builds it)", err)
		}
	}
	return containerdRelease{name: "containerd-v2.4.2", containerd: filepath.Join(dir, "containerd"), ctr: filepath.Join(dir, "ctr"), dir: dir}
}

// containerdReleases are the containerd releases the containerd and CRI
// cases run against.
func containerdReleases(t *testing.T) []containerdRelease {
	t.Helper()
	return []containerdRelease{debianContainerd(t), containerd2(t)}
}

// startContainerd starts containerd without its CRI plugin, or skips t
// (fails it with CAPGEN_REQUIRE_E2E=1) when it is not installed. It is
// stopped, and what it made removed, when t ends.
func startContainerd(t *testing.T) *containerd {
	t.Helper()
	return startContainerdWith(t, func(string) string { return "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n" })
}

// startContainerdWith is startContainerd with the configuration that conf
// returns for the daemon's directory added to the root table.
func startContainerdWith(t *testing.T, conf func(dir string) string) *containerd {
	t.Helper()
	return startContainerdEdited(t, conf, nil)
}

// startContainerdEnv is startContainerd with env added to the daemon's
// environment, which its shims and their runtimes inherit.
func startContainerdEnv(t *testing.T, env []string) *containerd {
	t.Helper()
	return startContainerdFull(t, func(string) string { return "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n" }, nil, env)
}

// startContainerdEdited is startContainerdWith with edit, when not nil,
// run on the config file before the daemon starts.
func startContainerdEdited(t *testing.T, conf func(dir string) string, edit func(config string)) *containerd {
	t.Helper()
	return startContainerdFull(t, conf, edit, nil)
}

// startContainerdFull is startContainerdEdited with env added to the
// daemon's environment.
func startContainerdFull(t *testing.T, conf func(dir string) string, edit func(config string), env []string) *containerd {
	t.Helper()
	return startRelease(t, debianContainerd(t), conf, edit, env)
}

// startRelease is startContainerdFull for the containerd release rel.
func startRelease(t *testing.T, rel containerdRelease, conf func(dir string) string, edit func(config string), env []string) *containerd {
	t.Helper()
	dir, err := os.MkdirTemp("", "capgen-e2e-containerd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // also when the daemon never becomes ready
	var b [4]byte
	rand.Read(b[:])
	c := &containerd{dir: dir, sock: filepath.Join(dir, "containerd.sock"), namespace: "capgen-e2e-" + hex.EncodeToString(b[:]), ctrBin: rel.ctr}
	_, err = os.Stat("/run/containerd")
	c.hadRun = err == nil
	config := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\n%s[grpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), conf(dir), c.sock)
	if rel.dir != "" {
		// containerd 2.x serves NRI on the host's /var/run/nri/nri.sock.
		config += "[plugins.\"io.containerd.nri.v1.nri\"]\n  disable = true\n"
	}
	writeFile(t, filepath.Join(dir, "config.toml"), []byte(config), 0o644)
	if edit != nil {
		edit(filepath.Join(dir, "config.toml"))
	}
	c.cmd = exec.Command(rel.containerd, "--config", filepath.Join(dir, "config.toml"))
	c.cmd.Env = append(append(os.Environ(), "CAPGEN_CACHE_DIR="+filepath.Join(dir, "capgen-cache")), env...)
	if rel.dir != "" {
		c.cmd.Env = append(c.cmd.Env, "PATH="+rel.dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	startDaemon(t, c.cmd, filepath.Join(dir, "containerd.log"), 30*time.Second, func() error {
		_, err := c.ctr("version")
		return err
	})
	t.Cleanup(c.stop)
	return c
}

// ctr runs ctr against the daemon in the test's namespace.
func (c *containerd) ctr(args ...string) (string, error) {
	return client(c.ctrBin, []string{"-a", c.sock, "-n", c.namespace}, args...)
}

// stop stops the daemon by its PID and removes what it made.
func (c *containerd) stop() {
	stopDaemon(c.cmd, 20*time.Second)
	if c.hadRun {
		os.RemoveAll(filepath.Join("/run/containerd/runc", c.namespace))
		os.RemoveAll(filepath.Join("/run/containerd/runc", c.namespace+".capgen"))
	} else {
		os.RemoveAll("/run/containerd")
	}
	os.RemoveAll(c.dir)
}

// runcRoot is the runc root directory containerd's runc v2 shim uses for
// the test's namespace.
func (c *containerd) runcRoot() string { return filepath.Join("/run/containerd/runc", c.namespace) }

func TestE2EContainerdShim(t *testing.T) {
	e := requireEngines(t)
	for _, rel := range containerdReleases(t) {
		t.Run(rel.name, func(t *testing.T) {
			c := startRelease(t, rel, func(string) string { return "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n" }, nil, nil)
			if _, err := c.ctr("image", "import", e.saveImages(t, c.dir, e.image)); err != nil {
				t.Fatal(err)
			}
			image := e.image + ":latest"
			for _, er := range e.runtimes {
				r := er.r
				if r.kind != "runc" {
					continue // containerd's runc v2 shim runs crun here only behind the hybrid-cgroup wrapper
				}
				t.Run(r.name, func(t *testing.T) {
					ctrPrivileged(t, c, er.shim, image, r.applies())
					if list, _ := exec.Command(r.path, "--root", c.runcRoot(), "list", "-q").Output(); strings.TrimSpace(string(list)) != "" {
						t.Errorf("runc --root %s list after the containers were removed: %q", c.runcRoot(), list)
					}
					if left, _ := filepath.Glob(filepath.Join(c.runcRoot()+".capgen", "*")); len(left) > 0 {
						t.Errorf("shim records left behind: %q", left)
					}
				})
			}
		})
	}
}

// ctrPrivileged runs, with runtime as the runc binary of containerd's runc
// v2 shim, `ctr run --privileged` of a container printing its sets, and
// `ctr task exec` into a privileged container, checks that both get want
// and that no message of the shim reached their output, and removes the
// containers.
func ctrPrivileged(t *testing.T, c *containerd, runtime, image string, want capnames.Set) {
	t.Helper()
	out, err := c.ctr("run", "--rm", "--privileged", "--runc-binary", runtime, image, containerID(t), "grep", "Cap", "/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	checkRootSets(t, "ctr run --privileged through "+filepath.Base(runtime), mustStatus(t, out), want)
	noShimMessages(t, "ctr run", out)

	long := containerID(t)
	if _, err := c.ctr("run", "-d", "--privileged", "--runc-binary", runtime, image, long, "/bin/busybox", "sleep", "60"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.ctr("task", "kill", "-s", "KILL", long)
		c.ctr("task", "delete", "-f", long)
		c.ctr("container", "delete", long)
	})
	out, err = c.ctr("task", "exec", "--exec-id", "capgen-exec", long, "grep", "Cap", "/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	checkRootSets(t, "ctr task exec into the privileged container", mustStatus(t, out), want)
	noShimMessages(t, "ctr task exec", out)
	c.ctr("task", "kill", "-s", "KILL", long)
	waitTaskGone(t, c, long)
	if _, err := c.ctr("container", "delete", long); err != nil {
		t.Fatal(err)
	}
}

// noShimMessages fails t when out, a container's output, holds a message
// of the shim.
func noShimMessages(t *testing.T, what, out string) {
	t.Helper()
	if strings.Contains(out, shim.Prefix) {
		t.Errorf("%s: the shim's messages reached the container's output:\n%s", what, out)
	}
}

// waitTaskGone deletes the task of container id once it has stopped.
func waitTaskGone(t *testing.T, c *containerd, id string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := c.ctr("task", "delete", id); err == nil {
			return
		}
	}
	t.Fatalf("the task of %s did not stop", id)
}
