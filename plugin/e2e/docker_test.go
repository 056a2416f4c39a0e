package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
)

// Debian's dockerd 20.10.24 on the test's own containerd, with capgen's
// shim added as a runtime (--add-runtime): docker run --privileged, docker
// run --cap-add ALL, and docker exec into the privileged container. Docker
// 20.10 writes the capabilities 0..37 it knows, CAP_SYS_RESOURCE among
// them, which this host's bounding set lacks: without the shim its
// privileged containers fail here even on runc 1.1.5 ("unable to apply
// caps: operation not permitted"). The shim never widens, so they get
// 0..37 within the bounding set and the runtime.

// dockerKnows are the capabilities Docker 20.10 writes for --privileged
// and --cap-add ALL.
var dockerKnows = capnames.UpTo(capnames.CAP_AUDIT_READ)

// dockerd is a dockerd of the test's own.
type dockerd struct {
	dir, sock string
	cmd       *exec.Cmd
	hadRun    bool // /run/docker existed before: dockerd keeps its plugin sockets there
}

// startDockerd starts dockerd on c with a runtime per shim of rts, or
// skips t (fails it with CAPGEN_REQUIRE_E2E=1) when it is not installed.
// It is stopped by its PID, and its directories removed, when t ends.
func startDockerd(t *testing.T, c *containerd, rts []engineRuntime) *dockerd {
	t.Helper()
	return startDockerdWith(t, c, "", rts)
}

// startDockerdWith is startDockerd reading the daemon.json config ("": an
// empty one of its own).
func startDockerdWith(t *testing.T, c *containerd, config string, rts []engineRuntime) *dockerd {
	t.Helper()
	bin, err := exec.LookPath("dockerd")
	if _, errCLI := os.Stat("/usr/bin/docker"); err != nil || errCLI != nil {
		unavailable(t, "dockerd or /usr/bin/docker not installed (Debian: apt-get install docker.io): %v %v", err, errCLI)
	}
	d := &dockerd{dir: filepath.Join(c.dir, "docker")}
	_, err = os.Stat("/run/docker")
	d.hadRun = err == nil
	d.sock = filepath.Join(d.dir, "docker.sock")
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if config == "" {
		config = filepath.Join(d.dir, "daemon.json")
		writeFile(t, config, []byte("{}\n"), 0o644)
	}
	args := []string{"--config-file", config,
		"--data-root", filepath.Join(d.dir, "data"), "--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "docker.pid"), "-H", "unix://" + d.sock, "--containerd", c.sock,
		"--iptables=false", "--ip-masq=false", "--bridge=none", "--storage-driver", "vfs"}
	for _, er := range rts {
		if er.r.kind == "runc" {
			args = append(args, "--add-runtime", shimName(er)+"="+er.shim)
		}
	}
	d.cmd = exec.Command(bin, args...)
	startDaemon(t, d.cmd, filepath.Join(d.dir, "dockerd.log"), 60*time.Second, func() error {
		_, err := d.docker("version")
		return err
	})
	t.Cleanup(d.stop)
	return d
}

// docker runs Debian's docker client (20.10) against the daemon.
func (d *dockerd) docker(args ...string) (string, error) {
	return client("/usr/bin/docker", []string{"-H", "unix://" + d.sock}, args...)
}

// stop removes every container, stops dockerd by its PID and removes
// what it made under its directory, which startContainerd's cleanup
// removes afterwards.
func (d *dockerd) stop() {
	if ids, err := d.docker("ps", "-aq"); err == nil && strings.TrimSpace(ids) != "" {
		d.docker(append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	}
	stopDaemon(d.cmd, 30*time.Second)
	exec.Command("umount", "-R", filepath.Join(d.dir, "exec")).Run()
	os.RemoveAll(d.dir)
	if !d.hadRun {
		os.RemoveAll("/run/docker")
	}
}

// runcRoots are the runc roots dockerd's containers may be in: one per
// runtime under its exec root, and containerd's for its namespace moby.
func (d *dockerd) runcRoots() []string {
	roots, _ := filepath.Glob(filepath.Join(d.dir, "exec", "runtime-*", "moby"))
	return append(roots, "/run/containerd/runc/moby")
}

// rootOf returns the runc root whose list holds container id, or "".
func (d *dockerd) rootOf(r ociRuntime, id string) string {
	for _, root := range d.runcRoots() {
		if list, _ := exec.Command(r.path, "--root", root, "list", "-q").Output(); strings.Contains(string(list), id) {
			return root
		}
	}
	return ""
}

func TestE2EDockerShim(t *testing.T) {
	e := requireEngines(t)
	c := startContainerd(t)
	d := startDockerd(t, c, e.runtimes)
	if _, err := d.docker("load", "-i", e.saveImages(t, c.dir, e.image)); err != nil {
		t.Fatal(err)
	}
	image := e.image + ":latest"
	if missing := dockerKnows.Minus(e.runtimes[0].r.host.parent.Bounding); missing != 0 {
		// The problem the shim solves, on this host: Docker's own runc
		// fails a container asking for capabilities outside the bounding set.
		out, err := d.docker("run", "--rm", "--network", "none", "--privileged", image, "true")
		if err == nil || !strings.Contains(out, "unable to apply caps") {
			t.Errorf("docker run --privileged without the shim, bounding set lacking %s: %v %s; want unable to apply caps", missing.Strings(), err, out)
		}
	}
	for _, er := range e.runtimes {
		r := er.r
		if r.kind != "runc" {
			continue // containerd's runc v2 shim runs crun here only behind the hybrid-cgroup wrapper
		}
		t.Run(r.name, func(t *testing.T) {
			want := r.applies().Intersect(dockerKnows)
			run := []string{"run", "--rm", "--network", "none", "--runtime", shimName(er)}
			for _, opt := range [][]string{{"--privileged"}, {"--cap-add", "ALL"}} {
				out, err := d.docker(append(append(append([]string{}, run...), opt...), image, "grep", "Cap", "/proc/self/status")...)
				if err != nil {
					t.Fatal(err)
				}
				checkRootSets(t, "docker run "+strings.Join(opt, " "), mustStatus(t, out), want)
				noShimMessages(t, "docker run", out)
			}
			id, err := d.docker("run", "-d", "--network", "none", "--runtime", shimName(er), "--privileged", image,
				"/bin/sh", "-c", "grep Cap /proc/self/status; exec /bin/busybox sleep 600")
			if err != nil {
				t.Fatal(err)
			}
			id = strings.TrimSpace(id)
			t.Cleanup(func() { d.docker("rm", "-f", id) })
			if root := d.rootOf(r, id); root == "" {
				t.Fatalf("no runc root of %s lists the running container %s", strings.Join(d.runcRoots(), ", "), id)
			}
			out, err := d.docker("exec", id, "grep", "Cap", "/proc/self/status")
			if err != nil {
				t.Fatal(err)
			}
			checkRootSets(t, "docker exec into the privileged container", mustStatus(t, out), want)
			noShimMessages(t, "docker exec", out)
			logs, err := d.docker("logs", id)
			if err != nil {
				t.Fatal(err)
			}
			checkRootSets(t, "docker logs of the privileged container", mustStatus(t, logs), want)
			noShimMessages(t, "docker logs", logs)
			if _, err := d.docker("rm", "-f", id); err != nil {
				t.Fatal(err)
			}
			for _, root := range d.runcRoots() {
				if list, _ := exec.Command(r.path, "--root", root, "list", "-q").Output(); strings.TrimSpace(string(list)) != "" {
					t.Errorf("runc --root %s list after the containers were removed: %q", root, list)
				} else {
					t.Logf("runc --root %s list after the containers were removed: empty", root)
				}
			}
		})
	}
}
