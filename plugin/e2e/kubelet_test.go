package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
)

// A real kubelet: v1.34.2, built into $CAPGEN_E2E_RUNTIMES by
// hack/build-runtimes.sh, run standalone (static pods from a manifest
// directory, no API server) on containerd 1.6.20 and v2.4.2 whose CRI
// default runtime is capgen's handler, set by capgen configure --engine
// containerd --set-default: the node's runtime for every pod, since a
// standalone kubelet cannot select a RuntimeClass (it crashes looking one
// up: kubernetes issue 125561). A privileged static pod and one with
// capabilities add [NET_ADMIN] drop [ALL] get their sets, read from the
// container's log and from crictl exec. Without capgen the privileged pod
// fails with rc92 (containerd grants it the capabilities containerd holds,
// CAP_PERFMON among them). The kubelet sets sysctls and makes directories, cgroups and a
// mount of its own: the test puts them back.

const kubeletRelease = "kubelet-v1.34.2"

// kubeletPaths are the directories the kubelet makes at fixed paths,
// whatever its --root-dir and podLogsDir.
var kubeletPaths = []string{"/var/lib/kubelet", "/var/log/containers", "/var/log/pods"}

// kubeletSysctls are the sysctls the kubelet sets when it starts.
var kubeletSysctls = []string{"vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops"}

// requireKubelet returns the kubelet's path, or skips t (fails it with
// CAPGEN_REQUIRE_E2E=1).
func requireKubelet(t *testing.T) string {
	t.Helper()
	if os.Getenv(runtimesVar) == "" {
		unavailable(t, "%s is not set: no kubelet (hack/build-runtimes.sh builds it)", runtimesVar)
	}
	path := filepath.Join(os.Getenv(runtimesVar), kubeletRelease)
	if _, err := os.Stat(path); err != nil {
		unavailable(t, "no kubelet: %v (hack/build-runtimes.sh builds it)", err)
	}
	return path
}

// kubelet is a standalone kubelet of the test's own on containerd c.
type kubelet struct {
	c         *containerd
	dir       string
	manifests string
	cmd       *exec.Cmd
}

// startKubelet starts bin standalone on c, its directories in c's, with
// no server, no iptables chains and no eviction below 1 MiB of memory. It
// is stopped when t ends, and the pods it ran are removed.
func startKubelet(t *testing.T, bin string, c *containerd, crictl string) *kubelet {
	t.Helper()
	k := &kubelet{c: c, dir: filepath.Join(c.dir, "kubelet")}
	k.manifests = filepath.Join(k.dir, "manifests")
	if err := os.MkdirAll(k.manifests, 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(k.dir, "config.yaml")
	writeFile(t, config, []byte(fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: %q
containerRuntimeEndpoint: "unix://%s"
cgroupDriver: cgroupfs
failSwapOn: false
enableServer: false
readOnlyPort: 0
healthzPort: 0
makeIPTablesUtilChains: false
podLogsDir: %q
resolvConf: ""
evictionHard:
  memory.available: "1Mi"
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
`, k.manifests, c.sock, filepath.Join(k.dir, "pods"))), 0o644)
	log := filepath.Join(k.dir, "kubelet.log")
	k.cmd = exec.Command(bin, "--config", config, "--root-dir", filepath.Join(k.dir, "root"), "--hostname-override", "capgen-e2e")
	startDaemon(t, k.cmd, log, 60*time.Second, func() error {
		data, _ := os.ReadFile(log)
		if !strings.Contains(string(data), "Starting kubelet main sync loop") {
			return fmt.Errorf("not started")
		}
		return nil
	})
	t.Cleanup(func() { k.stop(t, crictl) })
	return k
}

// stop stops the kubelet, removes the pods it ran (the kubelet leaves
// them running) and unmounts what it mounted in its directory: its root
// directory, which it bind-mounts on itself, shared.
func (k *kubelet) stop(t *testing.T, crictl string) {
	t.Helper()
	if k.cmd.ProcessState != nil {
		return
	}
	stopDaemon(k.cmd, 20*time.Second)
	ids, _ := k.c.crictl(t, crictl, "pods", "-q")
	for _, id := range strings.Fields(ids) {
		k.c.crictl(t, crictl, "stopp", id)
		if _, err := k.c.crictl(t, crictl, "rmp", id); err != nil {
			t.Error(err)
		}
	}
	var mounts []string
	for m := range mountPoints() {
		if strings.HasPrefix(m, k.dir+"/") {
			mounts = append(mounts, m)
		}
	}
	for _, f := range unmountDeepestFirst(mounts) {
		t.Errorf("the kubelet's mounts: %s", f)
	}
}

// log returns the kubelet's log.
func (k *kubelet) log() string {
	data, _ := os.ReadFile(filepath.Join(k.dir, "kubelet.log"))
	return string(data)
}

// staticPod writes the manifest of a static pod on the host network whose
// container, of image, prints its capability sets and sleeps, with the
// securityContext given as YAML lines.
func (k *kubelet) staticPod(t *testing.T, name, image string, securityContext ...string) {
	t.Helper()
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: capgen-e2e
spec:
  hostNetwork: true
  containers:
  - name: ctr
    image: %s
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "grep Cap /proc/self/status; exec /bin/busybox sleep 600"]
    securityContext:
`, name, image)
	for _, line := range securityContext {
		manifest += "      " + line + "\n"
	}
	writeFile(t, filepath.Join(k.manifests, name+".yaml"), []byte(manifest), 0o644)
}

// container waits for the container of static pod name to print its
// sets, and returns its id and the sets.
func (k *kubelet) container(t *testing.T, crictl, name string) (string, plugin.Sets) {
	t.Helper()
	// A static pod's name is its manifest's and the node's.
	label := "io.kubernetes.pod.name=" + name + "-capgen-e2e"
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if id, _ := k.c.crictl(t, crictl, "ps", "-q", "--label", label); id != "" {
			id = strings.Fields(id)[0]
			if logs, _ := k.c.crictl(t, crictl, "logs", id); strings.Contains(logs, "CapBnd") {
				return id, mustStatus(t, logs)
			}
		}
		if time.Now().After(deadline) {
			log := k.log()
			if i := len(log) - 6000; i > 0 {
				log = log[i:]
			}
			t.Fatalf("static pod %s: no container printed its sets in 60s; the kubelet's log ends:\n%s", name, log)
		}
	}
}

// waitLog waits up to a minute for the kubelet's log to hold text, and
// returns the first line that does.
func (k *kubelet) waitLog(t *testing.T, text string) string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		for line := range strings.Lines(k.log()) {
			if strings.Contains(line, text) {
				return strings.TrimSpace(line)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the kubelet's log holds no %q in 60s:\n%s", text, k.log())
		}
	}
}

func TestE2EKubelet(t *testing.T) {
	e := requireEngines(t)
	bin := requireKubelet(t)
	crictl := requireCrictl(t)
	sandbox := e.criSandbox(t)
	before := recordHost(kubeletPaths...)
	sysctlsBefore := sysctlValues(kubeletSysctls...)
	t.Cleanup(func() {
		for _, f := range before.restore() {
			t.Errorf("restoring the host: %s", f)
		}
		if d := before.diff(); len(d) > 0 {
			t.Errorf("the host after the kubelet differs from before: %q", d)
		}
		after := sysctlValues(kubeletSysctls...)
		if strings.Join(after, ", ") != strings.Join(sysctlsBefore, ", ") {
			t.Errorf("sysctls before the kubelet: %q, after: %q", sysctlsBefore, after)
		}
		t.Logf("sysctls before the kubelet: %s; after, restored: %s", strings.Join(sysctlsBefore, ", "), strings.Join(after, ", "))
	})
	image := e.image + ":latest"
	netAdmin := capnames.Set(0)
	netAdmin.Add(capnames.CAP_NET_ADMIN)
	for _, rel := range containerdReleases(t) {
		t.Run(rel.name, func(t *testing.T) {
			forEachRunc(t, e, func(t *testing.T, er engineRuntime, name, link string, configure func(...string) string) {
				r := er.r
				// Without capgen: the node's default handler runs the real
				// runtime.
				c := e.startCRI(t, rel, sandbox, nil, func(config string) { plainDefault(t, config, er.path) })
				k := startKubelet(t, bin, c, crictl)
				k.staticPod(t, "privileged", image, "privileged: true")
				if known := r.host.kernel.Intersect(r.host.parent.Bounding); r.applies() != known {
					// containerd grants a privileged container the
					// capabilities it holds itself, some unknown to r.
					line := k.waitLog(t, "Error syncing pod")
					if !strings.Contains(line, "unknown capability") {
						t.Errorf("without capgen the privileged static pod fails otherwise than on an unknown capability: %s", line)
					}
					t.Logf("%s, %s without capgen: the privileged static pod fails: %s", rel.name, r.name, line)
				} else {
					_, sets := k.container(t, crictl, "privileged")
					checkRootSets(t, "the kubelet's privileged static pod without capgen", sets, known)
				}
				k.stop(t, crictl)
				c.stop()

				c = e.startCRI(t, rel, sandbox, nil, func(config string) { configure("--engine", "containerd", "--set-default", "--config", config) })
				k = startKubelet(t, bin, c, crictl)
				k.staticPod(t, "privileged", image, "privileged: true")
				k.staticPod(t, "netadmin", image, "capabilities:", "  add: [NET_ADMIN]", "  drop: [ALL]")
				for _, pod := range []struct {
					name string
					want capnames.Set
				}{{"privileged", r.applies()}, {"netadmin", netAdmin}} {
					id, sets := k.container(t, crictl, pod.name)
					checkRootSets(t, "the kubelet's "+pod.name+" static pod", sets, pod.want)
					out, err := c.crictl(t, crictl, "exec", id, "grep", "Cap", "/proc/self/status")
					if err != nil {
						t.Fatal(err)
					}
					checkRootSets(t, "crictl exec into the kubelet's "+pod.name+" static pod", mustStatus(t, out), pod.want)
					t.Logf("%s, %s through capgen-%s, the default handler: %s static pod CapBnd %s", rel.name, r.name, name, pod.name, sets.Bounding.Bitmap())
				}
				k.stop(t, crictl)
			})
		})
	}
}

// plainDefault makes the CRI's default handler, runc, run the runtime at
// path, in the version 2 config.toml at config.
func plainDefault(t *testing.T, config, path string) {
	t.Helper()
	data, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	data = fmt.Appendf(data, "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  BinaryName = %q\n", path)
	writeFile(t, config, data, 0o644)
}
