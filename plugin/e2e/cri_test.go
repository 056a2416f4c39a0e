package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Kubernetes' path: containerd 1.6.20's CRI plugin, driven by crictl
// v1.26.1 (built into $CAPGEN_E2E_RUNTIMES by hack/build-runtimes.sh), with
// a runtime handler whose runc v2 shim runs capgen's shim as its runc
// binary: a privileged pod and container, and crictl exec into it. rc92
// fails both on CAP_PERFMON without capgen.

// criNamespace is the containerd namespace CRI keeps its containers in.
const criNamespace = "k8s.io"

// requireCrictl returns crictl's path, or skips t (fails it with
// CAPGEN_REQUIRE_E2E=1).
func requireCrictl(t *testing.T) string {
	t.Helper()
	path := filepath.Join(os.Getenv(runtimesVar), "crictl-v1.26.1")
	if os.Getenv(runtimesVar) == "" {
		unavailable(t, "%s is not set: no crictl (hack/build-runtimes.sh builds it)", runtimesVar)
	}
	if _, err := os.Stat(path); err != nil {
		unavailable(t, "no crictl: %v (hack/build-runtimes.sh builds it)", err)
	}
	return path
}

// shimName is the name under which an engine's configuration names a
// shim: a CRI runtime handler, a dockerd runtime.
func shimName(er engineRuntime) string {
	return "capgen-" + strings.NewReplacer(".", "-", "+", "-").Replace(er.r.name)
}

// criConfig is the CRI plugin's configuration: the sandbox image, no
// oom_score_adj below the daemon's (this host's bounding set lacks
// CAP_SYS_RESOURCE), and a handler per runc shim whose runc root is under
// dir.
func criConfig(dir, sandbox string, rts []engineRuntime) string {
	const cri = `plugins."io.containerd.grpc.v1.cri"`
	var b strings.Builder
	fmt.Fprintf(&b, "[%s]\n  sandbox_image = %q\n  restrict_oom_score_adj = true\n", cri, sandbox)
	fmt.Fprintf(&b, "[%s.cni]\n  bin_dir = %q\n  conf_dir = %q\n", cri, filepath.Join(dir, "cni-bin"), filepath.Join(dir, "cni-conf"))
	// Naming runtimes replaces the default one, which must stay defined.
	fmt.Fprintf(&b, "[%s.containerd.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n", cri)
	for _, er := range rts {
		if er.r.kind != "runc" {
			continue
		}
		h := shimName(er)
		fmt.Fprintf(&b, "[%s.containerd.runtimes.%q]\n  runtime_type = \"io.containerd.runc.v2\"\n", cri, h)
		fmt.Fprintf(&b, "[%s.containerd.runtimes.%q.options]\n  BinaryName = %q\n  Root = %q\n", cri, h, er.shim, filepath.Join(dir, "runc-"+h))
	}
	return b.String()
}

// criSandbox imports the pod sandbox image of the CRI tests into e's
// storage, until t ends, and returns its name.
func (e *engines) criSandbox(t *testing.T) string {
	t.Helper()
	sandbox := "localhost/capgen-e2e-sandbox:latest"
	if _, err := e.run(e.podman, append(e.storage, "import", "--change", `ENTRYPOINT ["/bin/busybox", "sleep", "3600"]`,
		filepath.Join(e.dir, "image.tar"), sandbox)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.run(e.podman, append(e.storage, "rmi", sandbox)...) })
	return sandbox
}

// startCRI starts containerd release rel with its CRI configured by
// criConfig for sandbox and rts, edit run on the config file when not nil,
// a crictl.yaml for it in its directory, and e's image and the sandbox in
// the CRI's namespace.
func (e *engines) startCRI(t *testing.T, rel containerdRelease, sandbox string, rts []engineRuntime, edit func(config string)) *containerd {
	t.Helper()
	c := startRelease(t, rel, func(dir string) string { return criConfig(dir, sandbox, rts) }, edit, nil)
	writeFile(t, filepath.Join(c.dir, "crictl.yaml"), []byte(fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\n", c.sock, c.sock)), 0o644)
	if _, err := client(c.ctrBin, []string{"-a", c.sock, "-n", criNamespace}, "image", "import", e.saveImages(t, c.dir, e.image, sandbox)); err != nil {
		t.Fatal(err)
	}
	return c
}

// crictl runs crictl against the daemon.
func (c *containerd) crictl(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--config", filepath.Join(c.dir, "crictl.yaml"), "--timeout", "60s"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "containerd.log"))
		if i := len(log) - 4000; i > 0 {
			log = log[i:]
		}
		return string(out), fmt.Errorf("crictl %s: %v\n%s\ncontainerd's log ends:\n%s", strings.Join(args, " "), err, out, log)
	}
	return strings.TrimSpace(string(out)), nil
}

func TestE2ECRIShim(t *testing.T) {
	e := requireEngines(t)
	crictl := requireCrictl(t)
	sandbox := e.criSandbox(t)
	for _, rel := range containerdReleases(t) {
		t.Run(rel.name, func(t *testing.T) {
			c := e.startCRI(t, rel, sandbox, e.runtimes, nil)
			for _, er := range e.runtimes {
				if er.r.kind != "runc" {
					continue // containerd's runc v2 shim runs crun here only behind the hybrid-cgroup wrapper
				}
				t.Run(er.r.name, func(t *testing.T) { criPrivileged(t, c, crictl, er, e.image+":latest") })
			}
		})
	}
}

// criPrivileged runs a privileged pod and container through er's handler,
// checks the sets the container printed, in its log, and of crictl exec
// into it, and that neither runc nor the shim keeps anything after the
// pod is removed.
func criPrivileged(t *testing.T, c *containerd, crictl string, er engineRuntime, image string) {
	t.Helper()
	r := er.r
	// The runc v2 shim adds the namespace to the root it is given.
	root := filepath.Join(c.dir, "runc-"+shimName(er), criNamespace)
	pod, ctr := c.criPod(t, crictl, shimName(er), image)
	if list, err := exec.Command(r.path, "--root", root, "list", "-q").Output(); err != nil || !strings.Contains(string(list), ctr) {
		t.Fatalf("runc --root %s list while the container runs: %q, %v; want its id %s", root, list, err, ctr)
	}
	logs, err := c.crictl(t, crictl, "logs", ctr)
	if err != nil {
		t.Fatal(err)
	}
	checkRootSets(t, "the privileged CRI container", mustStatus(t, logs), r.applies())
	noShimMessages(t, "crictl logs", logs)
	file, err := os.ReadFile(filepath.Join(c.dir, "logs", pod, "ctr.log"))
	if err != nil {
		t.Fatal(err)
	}
	noShimMessages(t, "the CRI container log", string(file))
	out, err := c.crictl(t, crictl, "exec", ctr, "grep", "Cap", "/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	checkRootSets(t, "crictl exec into the privileged container", mustStatus(t, out), r.applies())
	noShimMessages(t, "crictl exec", out)
	c.removePod(t, crictl, pod)
	if list, _ := exec.Command(r.path, "--root", root, "list", "-q").Output(); strings.TrimSpace(string(list)) != "" {
		t.Errorf("runc --root %s list after the pod was removed: %q", root, list)
	} else {
		t.Logf("runc --root %s list after the pod was removed: empty", root)
	}
	if left, _ := filepath.Glob(filepath.Join(root+".capgen", "*")); len(left) > 0 {
		t.Errorf("shim records left behind: %q", left)
	}
}

// criPod runs a privileged pod on the host network through handler, and in
// it a privileged container that prints its capability sets and sleeps.
// It returns their ids; the pod is removed when t ends.
func (c *containerd) criPod(t *testing.T, crictl, handler, image string) (pod, ctr string) {
	t.Helper()
	name := containerID(t)
	podConf := map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "capgen-e2e", "uid": name},
		"log_directory": filepath.Join(c.dir, "logs", name),
		"linux": map[string]any{"security_context": map[string]any{
			"privileged": true, "namespace_options": map[string]any{"network": 2}}},
	}
	ctrConf := map[string]any{
		"metadata": map[string]any{"name": "ctr"},
		"image":    map[string]any{"image": image},
		"command":  []string{"/bin/sh", "-c", "grep Cap /proc/self/status; exec /bin/busybox sleep 600"},
		"log_path": "ctr.log",
		"linux":    map[string]any{"security_context": map[string]any{"privileged": true}},
	}
	podFile, ctrFile := filepath.Join(c.dir, name+"-pod.json"), filepath.Join(c.dir, name+"-ctr.json")
	writeJSON(t, podFile, podConf)
	writeJSON(t, ctrFile, ctrConf)
	pod, err := c.crictl(t, crictl, "runp", "--runtime", handler, podFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.removePod(t, crictl, pod) })
	if ctr, err = c.crictl(t, crictl, "create", pod, ctrFile, podFile); err != nil {
		t.Fatal(err)
	}
	if _, err := c.crictl(t, crictl, "start", ctr); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if logs, _ := c.crictl(t, crictl, "logs", ctr); strings.Contains(logs, "CapBnd") {
			return name, ctr
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s printed no capability sets", ctr)
		}
	}
}

// writeJSON writes v to path as JSON, for crictl.
func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, data, 0o644)
}

// removePod stops and removes a pod and its containers.
func (c *containerd) removePod(t *testing.T, crictl, pod string) {
	t.Helper()
	id, err := c.crictl(t, crictl, "pods", "-q", "--name", pod)
	if err != nil || id == "" {
		return
	}
	c.crictl(t, crictl, "stopp", id)
	if _, err := c.crictl(t, crictl, "rmp", id); err != nil {
		t.Error(err)
	}
}
