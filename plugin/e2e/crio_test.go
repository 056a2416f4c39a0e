package e2e

// CRI-O v1.36.3, built by hack/build-runtimes.sh from the module proxy,
// with the handler capgen configure --engine crio writes into its
// crio.conf.d, driven by crictl v1.34.0 as the kubelet would: a
// privileged pod and container, and crictl exec into it, over runc 1.1.5
// and rc92. Without capgen, CRI-O gives a privileged container every
// capability of the kernel, CAP_SYS_RESOURCE too, which this host's
// bounding set lacks: runc 1.1.5 fails it (unable to apply caps), rc92
// fails on the names it does not know.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// crio is a CRI-O daemon of the test's own: every directory and its
// socket in dir, stopped by its PID.
type crio struct {
	dir, sock, crictl string
	cmd               *exec.Cmd
}

// requireCrio returns the CRI-O release's directory (crio, pinns) and
// crictl v1.34.0, or skips t (fails it with CAPGEN_REQUIRE_E2E=1).
func requireCrio(t *testing.T) (dir, crictl string) {
	t.Helper()
	runtimes := os.Getenv(runtimesVar)
	if runtimes == "" {
		unavailable(t, "%s is not set: no CRI-O (hack/build-runtimes.sh builds it)", runtimesVar)
	}
	dir, crictl = filepath.Join(runtimes, "crio-v1.36.3"), filepath.Join(runtimes, "crictl-v1.34.0")
	for _, p := range []string{filepath.Join(dir, "crio"), filepath.Join(dir, "pinns"), crictl} {
		if _, err := os.Stat(p); err != nil {
			unavailable(t, "CRI-O v1.36.3 or crictl v1.34.0 is not built: %v (hack/build-runtimes.sh builds them)", err)
		}
	}
	return dir, crictl
}

// crioConfig is CRI-O's configuration for a daemon in dir: nothing of the
// host's (storage, state, sockets, policy, NRI), cgroupfs, conmon from
// Debian, runc named plain, running path.
func crioConfig(dir, release, sandbox, plain string) string {
	return fmt.Sprintf(`[crio]
root = %[1]q
runroot = %[2]q
storage_driver = "vfs"
log_dir = %[3]q
version_file = %[4]q
version_file_persist = %[5]q
clean_shutdown_file = %[6]q

[crio.api]
listen = %[7]q
stream_port = "0"

[crio.runtime]
default_runtime = "plain"
conmon = "/usr/bin/conmon"
cgroup_manager = "cgroupfs"
conmon_cgroup = "pod"
pinns_path = %[8]q
namespaces_dir = %[9]q
container_exits_dir = %[10]q
container_attach_socket_dir = %[11]q
decryption_keys_path = %[12]q
apparmor_profile = "unconfined"

[crio.runtime.runtimes.plain]
runtime_path = %[13]q
runtime_root = %[14]q

[crio.image]
pause_image = %[15]q
signature_policy = %[16]q
signature_policy_dir = %[17]q
namespaced_auth_dir = %[18]q

[crio.network]
network_dir = %[19]q
plugin_dirs = [%[20]q]

[crio.nri]
enable_nri = false
`, filepath.Join(dir, "root"), filepath.Join(dir, "runroot"), filepath.Join(dir, "logs"), filepath.Join(dir, "version"),
		filepath.Join(dir, "version-persist"), filepath.Join(dir, "clean.shutdown"), filepath.Join(dir, "crio.sock"),
		filepath.Join(release, "pinns"), filepath.Join(dir, "ns"), filepath.Join(dir, "exits"), filepath.Join(dir, "attach"),
		filepath.Join(dir, "keys"), plain, filepath.Join(dir, "runc-plain"), sandbox, filepath.Join(dir, "policy.json"),
		filepath.Join(dir, "policies"), filepath.Join(dir, "auth"), filepath.Join(dir, "cni-conf"), filepath.Join(dir, "cni-bin"))
}

// startCrio starts CRI-O on dir's configuration and drop-ins (dir/conf.d),
// with images, a storage the engines' podman filled, and stops it when t
// ends.
func startCrio(t *testing.T, release, crictl, dir string) *crio {
	t.Helper()
	c := &crio{dir: dir, sock: filepath.Join(dir, "crio.sock"), crictl: crictl}
	writeFile(t, filepath.Join(dir, "crictl.yaml"), []byte(fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\n", c.sock, c.sock)), 0o644)
	c.cmd = exec.Command(filepath.Join(release, "crio"), "--config", filepath.Join(dir, "crio.conf"), "--config-dir", filepath.Join(dir, "conf.d"))
	c.cmd.Env = append(os.Environ(), "CAPGEN_CACHE_DIR="+filepath.Join(dir, "capgen-cache"))
	startDaemon(t, c.cmd, filepath.Join(dir, "crio.log"), 30*time.Second, func() error {
		_, err := c.run("version")
		return err
	})
	t.Cleanup(func() { stopDaemon(c.cmd, 20*time.Second) })
	return c
}

// run runs crictl against the daemon; its output without crictl's own
// warnings.
func (c *crio) run(args ...string) (string, error) {
	cmd := exec.Command(c.crictl, append([]string{"--config", filepath.Join(c.dir, "crictl.yaml"), "--timeout", "60s"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("crictl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// privilegedPod runs a privileged pod on the host's network, PID and IPC
// namespaces (no infra container: its oom_score_adj of -998 needs
// CAP_SYS_RESOURCE, which this host lacks) through handler, and in it a
// privileged container printing its sets. It returns the pod's and the
// container's ids; the pod is removed when t ends.
func (c *crio) privilegedPod(t *testing.T, handler, image string) (pod, ctr string, err error) {
	t.Helper()
	name := containerID(t)
	host := map[string]any{"network": 2, "pid": 2, "ipc": 2}
	podConf := map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "capgen-e2e", "uid": name},
		"log_directory": filepath.Join(c.dir, "pod-logs", name),
		"linux":         map[string]any{"security_context": map[string]any{"privileged": true, "namespace_options": host}},
	}
	ctrConf := map[string]any{
		"metadata": map[string]any{"name": "ctr"},
		"image":    map[string]any{"image": image},
		"command":  []string{"/bin/sh", "-c", "grep Cap /proc/self/status; exec /bin/busybox sleep 600"},
		"log_path": "ctr.log",
		"linux":    map[string]any{"security_context": map[string]any{"privileged": true, "namespace_options": host}},
	}
	podFile, ctrFile := filepath.Join(c.dir, name+"-pod.json"), filepath.Join(c.dir, name+"-ctr.json")
	writeJSON(t, podFile, podConf)
	writeJSON(t, ctrFile, ctrConf)
	if pod, err = c.run("runp", "--runtime", handler, podFile); err != nil {
		return "", "", err
	}
	t.Cleanup(func() {
		c.run("stopp", pod)
		c.run("rmp", pod)
	})
	if ctr, err = c.run("create", pod, ctrFile, podFile); err != nil {
		return pod, "", err
	}
	if _, err = c.run("start", ctr); err != nil {
		return pod, ctr, err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if logs, _ := c.run("logs", ctr); strings.Contains(logs, "CapBnd") {
			return pod, ctr, nil
		}
		if time.Now().After(deadline) {
			return pod, ctr, fmt.Errorf("container %s printed no capability sets", ctr)
		}
	}
}

// capabilityFailure is how runc fails a container on its capabilities.
var capabilityFailure = regexp.MustCompile(`unable to apply caps: operation not permitted|unknown capability \\*"CAP_[A-Z_]+\\*"`)

func TestE2ECRIO(t *testing.T) {
	e := requireEngines(t)
	release, crictl := requireCrio(t)
	sandbox := "localhost/capgen-e2e-sandbox:latest"
	for _, p := range []string{"/etc/crio", "/var/run/nri"} {
		if _, err := os.Stat(p); err == nil {
			continue
		}
		t.Cleanup(func() {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("CRI-O left %s on the host", p)
				os.RemoveAll(p)
			}
		})
	}
	forEachRunc(t, e, func(t *testing.T, er engineRuntime, name, link string, configure func(...string) string) {
		r := er.r
		dir, err := os.MkdirTemp("", "capgen-e2e-crio-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		writeFile(t, filepath.Join(dir, "crio.conf"), []byte(crioConfig(dir, release, sandbox, er.path)), 0o644)
		writeFile(t, filepath.Join(dir, "policy.json"), []byte(`{"default": [{"type": "insecureAcceptAnything"}]}`), 0o644)
		dropIn := filepath.Join(dir, "conf.d", "50-capgen-"+name+".conf")
		out := configure("--engine", "crio", "--config", dropIn)
		if !strings.Contains(out, "restart crio") || !strings.Contains(out, "handler: capgen-"+name) {
			t.Errorf("capgen configure --engine crio says nothing of a restart or the RuntimeClass:\n%s", out)
		}
		storage := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "runroot"), "--storage-driver", "vfs"}
		if _, err := e.run(e.podman, append(append([]string{}, storage...), "import", "--change", `ENTRYPOINT ["/bin/busybox", "sleep", "3600"]`,
			filepath.Join(e.dir, "image.tar"), sandbox)...); err != nil {
			t.Fatal(err)
		}
		if _, err := e.run(e.podman, append(append([]string{}, storage...), "import", filepath.Join(e.dir, "image.tar"), e.image)...); err != nil {
			t.Fatal(err)
		}
		// The runtime root configure gives the handler, and the shim's
		// records beside it.
		root := "/run/capgen-" + name
		t.Cleanup(func() {
			for _, d := range []string{root, root + ".capgen"} {
				if entries, _ := os.ReadDir(d); len(entries) > 0 {
					t.Errorf("%s holds %d entries after the pods were removed", d, len(entries))
				}
				os.RemoveAll(d)
			}
		})
		c := startCrio(t, release, crictl, dir)
		image := e.image + ":latest"

		_, _, err = c.privilegedPod(t, "plain", image)
		if why := capabilityFailure.FindString(fmt.Sprint(err)); why == "" {
			t.Errorf("a privileged container of CRI-O on %s alone: %v; want it to fail on the capabilities", r.name, err)
		} else {
			t.Logf("%s alone, privileged: fails: %s", r.name, strings.ReplaceAll(why, `\`, ""))
		}

		pod, ctr, err := c.privilegedPod(t, "capgen-"+name, image)
		if err != nil {
			t.Fatal(err)
		}
		logs, err := c.run("logs", ctr)
		if err != nil {
			t.Fatal(err)
		}
		checkRootSets(t, "CRI-O's privileged container through capgen-"+name, mustStatus(t, logs), r.applies())
		noShimMessages(t, "crictl logs", logs)
		out, err = c.run("exec", ctr, "grep", "Cap", "/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		checkRootSets(t, "crictl exec into it", mustStatus(t, out), r.applies())
		noShimMessages(t, "crictl exec", out)
		// Before the shim goes: CRI-O stops the container through it.
		for _, cmd := range []string{"stopp", "rmp"} {
			if _, err := c.run(cmd, pod); err != nil {
				t.Error(err)
			}
		}
		if list, _ := exec.Command(r.path, "--root", root, "list", "-q").Output(); strings.TrimSpace(string(list)) != "" {
			t.Errorf("runc --root %s list after the pod was removed: %q", root, list)
		}

		configure("--engine", "crio", "--config", dropIn, "--remove")
		if _, err := os.Lstat(dropIn); !os.IsNotExist(err) {
			t.Errorf("%s left after --remove: %v", dropIn, err)
		}
		if _, err := os.Lstat(link); !os.IsNotExist(err) {
			t.Errorf("shim link %s left after --remove: %v", link, err)
		}
	})
}
