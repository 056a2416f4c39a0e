package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/internal/shim"
	"github.com/capgen-dev/capgen/internal/shim/record"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The shim over a real runtime for a container's whole life, as containerd
// drives runc: create and start a privileged container naming every
// capability of the table, exec into it with a process file naming them
// too (rc92 fails both on CAP_PERFMON without the shim), then delete it.
// Its later commands reach the runtime through the shim's record, and
// nothing is left behind: no container in the runtime's root, no record.
// The shim is capgen-NAME linked to capgen, and linked to capshim, which
// passes "state" through on the record alone (capgen moved away).
func TestE2EShimLifecycle(t *testing.T) {
	h, rts := setup(t)
	capgen := buildCapgen(t)
	buildCommand(t, filepath.Dir(capgen), "capshim")
	table := capnames.UpTo(capnames.Default().Last()).Strings()
	for _, r := range rts {
		if r.kind != "runc" || !(strings.HasPrefix(r.name, "runc-1.1.5") || r.name == "runc-v1.0.0-rc92") {
			continue
		}
		for _, entry := range []string{"capgen", "capshim"} {
			t.Run(r.name+"/"+entry, func(t *testing.T) { shimLifecycle(t, h, r, filepath.Join(filepath.Dir(capgen), entry), table) })
		}
	}
}

func shimLifecycle(t *testing.T, h host, r ociRuntime, entry string, table []string) {
	dir := t.TempDir()
	link := filepath.Join(dir, shim.Prefix+"real")
	if err := os.Symlink(entry, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(r.path, filepath.Join(dir, "real")); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	logFile := filepath.Join(dir, "runc.log")
	env := []string{"PATH=" + dir + ":/usr/sbin:/usr/bin:/sbin:/bin", "CAPGEN_CACHE_DIR=" + filepath.Join(dir, "cache")}
	run := func(env []string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Files, not pipes: the container's init keeps the
		// descriptors create gives it.
		stdout, stderr := filepath.Join(t.TempDir(), "stdout"), filepath.Join(t.TempDir(), "stderr")
		outFile, errFile := createFile(t, stdout), createFile(t, stderr)
		defer outFile.Close()
		defer errFile.Close()
		cmd := exec.CommandContext(ctx, link, append([]string{"--root", state, "--log", logFile, "--log-format", "json"}, args...)...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, outFile, errFile
		err := cmd.Run()
		out, errOut := readLog(stdout), readLog(stderr)
		if err != nil {
			t.Fatalf("%s %q: %v\nstderr: %s\nlog: %s", link, args, err, errOut, readLog(logFile))
		}
		if strings.Contains(out+errOut, filepath.Base(link)) {
			t.Errorf("%q: the shim's messages reached the container's stdio:\n%s%s", args, out, errOut)
		}
		return out
	}
	spec := baseSpec(root)
	spec.Process.Args = []string{"/bin/busybox", "sleep", "60"}
	// runc before 1.0 reads the cgroup mount from inside the
	// container at exec ("cannot statfs cgroup root").
	spec.Root.Readonly = false
	spec.Mounts = append(spec.Mounts,
		specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}})
	spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: table, Effective: table, Permitted: table}
	bundle := writeBundle(t, h, marshalSpec(t, spec))
	id := containerID(t)
	t.Cleanup(func() {
		exec.Command(r.path, "--root", state, "delete", "--force", id).Run()
	})
	run(env, "create", "--bundle", bundle, id)
	// Later commands with no environment, as Podman runs them: the
	// name "real" resolves through PATH no more.
	run(nil, "start", id)
	if filepath.Base(entry) == "capshim" {
		stateOnRecordAlone(t, filepath.Dir(entry), func() string { return run(nil, "state", id) })
	}
	process := filepath.Join(dir, "process.json")
	writeFile(t, process, mustJSON(t, specs.Process{
		Args: []string{"/bin/busybox", "grep", "^Cap", "/proc/self/status"}, Cwd: "/", Env: []string{"PATH=/bin"},
		Capabilities: &specs.LinuxCapabilities{Bounding: table, Effective: table, Permitted: table},
	}), 0o600)
	sets, err := parseStatus(run(nil, "exec", "--process", process, id))
	if err != nil {
		t.Fatal(err)
	}
	checkRootSets(t, "exec into the privileged container", sets, r.applies())
	run(nil, "kill", id, "KILL")
	waitStopped(t, r, state, id)
	run(nil, "delete", id)
	if out, _ := exec.Command(r.path, "--root", state, "list", "-q").Output(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("runc --root %s list after delete: %q", state, out)
	}
	if _, err := os.Stat(state + ".capgen"); !os.IsNotExist(err) {
		t.Errorf("the shim's record directory %s.capgen remains after delete: %v", state, err)
	}
	if log := readLog(logFile); r.name == "runc-v1.0.0-rc92" && !strings.Contains(log, "CAP_PERFMON") {
		t.Errorf("runc's log has no warning of the shim about CAP_PERFMON: %s", log)
	}
	t.Logf("%s through the shim (%s): create, start, exec (CapBnd %s), delete, with no environment after create",
		r.name, filepath.Base(entry), sets.Bounding.Bitmap())
}

// stateOnRecordAlone runs state with capgen moved out of dir, so that
// capshim can only pass it through on its record, and checks that the
// runtime answered it.
func stateOnRecordAlone(t *testing.T, dir string, state func() string) {
	t.Helper()
	capgen, aside := filepath.Join(dir, "capgen"), filepath.Join(dir, "capgen.aside")
	if err := os.Rename(capgen, aside); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := os.Rename(aside, capgen); err != nil {
			t.Fatal(err)
		}
	}()
	var st specs.State
	if out := state(); json.Unmarshal([]byte(out), &st) != nil || st.Status != specs.StateRunning {
		t.Errorf("state through capshim without capgen: %q, want the runtime's state of a running container", out)
	}
}

func createFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func readLog(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// waitStopped waits until container id of r's root is stopped.
func waitStopped(t *testing.T, r ociRuntime, root, id string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, _ := exec.Command(r.path, "--root", root, "state", id).Output()
		if strings.Contains(string(out), `"stopped"`) {
			return
		}
	}
	t.Fatalf("container %s did not stop", id)
}

// Podman 4.3.1 with the shim's runtime named only in CONTAINERS_CONF: Podman
// runs create with its environment and start and delete with none, so the
// name resolves only at create. The container runs, and nothing is left in
// runc's root or among the shim's records.
func TestE2EPodmanShimNamedByEnvironment(t *testing.T) {
	e := requireEngines(t)
	for _, er := range e.runtimes {
		r := er.r
		if r.kind != "runc" {
			continue // crun runs behind a wrapper here; the records do not depend on the runtime
		}
		t.Run(r.name, func(t *testing.T) {
			key := "capgen-e2e-env-" + strings.TrimPrefix(containerID(t), "capgen-e2e-")
			conf := filepath.Join(t.TempDir(), "containers.conf")
			writeFile(t, conf, []byte(fmt.Sprintf("[engine.runtimes]\n%q = [%q]\n", key, er.path)), 0o644)
			link := filepath.Join(t.TempDir(), shim.Prefix+key)
			if err := os.Symlink(e.capgen, link); err != nil {
				t.Fatal(err)
			}
			before := runcList(t, r)
			out, err := e.podmanTryEnv([]string{"CONTAINERS_CONF=" + conf}, link, "", e.image, "--privileged")
			if err != nil {
				t.Fatal(err)
			}
			checkRootSets(t, "podman --privileged, runtime named in CONTAINERS_CONF", mustStatus(t, out), r.applies())
			if strings.Contains(out, shim.Prefix) {
				t.Errorf("the shim's messages reached the container's output:\n%s", out)
			}
			if after := runcList(t, r); after != before {
				t.Errorf("runc list before the container:\n%safter it was removed:\n%s", before, after)
			} else {
				t.Logf("runc list after podman run --rm:\n%s", after)
			}
			records, _ := record.DefaultDir()
			if left, _ := filepath.Glob(filepath.Join(records, "*")); len(left) > 0 {
				t.Errorf("shim records left behind: %q", left)
			}
		})
	}
}

// runcList is `runc list` of the default root, which Podman 4.3.1 uses.
func runcList(t *testing.T, r ociRuntime) string {
	t.Helper()
	out, err := exec.Command(r.path, "list").CombinedOutput()
	if err != nil {
		t.Fatalf("%s list: %v: %s", r.path, err, out)
	}
	return string(out)
}
