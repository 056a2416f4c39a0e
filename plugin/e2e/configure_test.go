package e2e

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// capgen configure as an operator runs it, against engines of the test's
// own: after configure and a (re)start the engine runs --privileged
// containers through the shim with the expected CapBnd, and after
// --remove the configuration is back byte for byte and the engine no
// longer knows the shim.

// configureRuntime names r for configure in a containers.conf drop-in of
// the test's own (configure takes a runtime name, which the shim resolves
// as Podman does), and returns the name, the shim's link beside e.capgen
// and a function running capgen configure with args.
func configureRuntime(t *testing.T, e *engines, er engineRuntime) (name, link string, configure func(args ...string) string) {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name = "e2e" + hex.EncodeToString(b[:]) + "-" + strings.NewReplacer(".", "-", "+", "-").Replace(er.r.name)
	dropIn := "/etc/containers/containers.conf.d/zz-capgen-e2e-configure-" + hex.EncodeToString(b[:]) + ".conf"
	writeFile(t, dropIn, []byte(fmt.Sprintf("# capgen's end-to-end tests. Remove if left behind.\n[engine.runtimes]\n%q = [%q]\n", name, er.path)), 0o644)
	link = filepath.Join(filepath.Dir(e.capgen), "capgen-"+name)
	t.Cleanup(func() {
		os.Remove(dropIn)
		os.Remove(link)
	})
	return name, link, func(args ...string) string {
		t.Helper()
		out, err := exec.Command(e.capgen, append([]string{"configure", "--runtime", name}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("capgen configure %q: %v\n%s", args, err, out)
		}
		t.Logf("capgen configure %s:\n%s", strings.Join(args, " "), out)
		return string(out)
	}
}

// forEachRunc runs test as a subtest for each runc runtime of e, named for
// configure by configureRuntime.
func forEachRunc(t *testing.T, e *engines, test func(t *testing.T, er engineRuntime, name, link string, configure func(args ...string) string)) {
	t.Helper()
	for _, er := range e.runtimes {
		if er.r.kind != "runc" {
			continue // containerd's runc v2 shim runs crun here only behind the hybrid-cgroup wrapper
		}
		t.Run(er.r.name, func(t *testing.T) {
			name, link, configure := configureRuntime(t, e, er)
			test(t, er, name, link, configure)
		})
	}
}

func TestE2EConfigureDocker(t *testing.T) {
	e := requireEngines(t)
	forEachRunc(t, e, func(t *testing.T, er engineRuntime, name, link string, configure func(...string) string) {
		r := er.r
		config := filepath.Join(t.TempDir(), "daemon.json")
		original := []byte("{\n    \"log-level\": \"warn\"\n}\n")
		writeFile(t, config, original, 0o600)
		configure("--engine", "docker", "--config", config)
		if out := configure("--engine", "docker", "--config", config); !strings.Contains(out, "nothing changed") {
			t.Errorf("a second capgen configure changed something:\n%s", out)
		}
		if target, err := os.Readlink(link); err != nil || target != "capgen" {
			t.Errorf("shim link %s -> %q (%v), want capgen", link, target, err)
		}
		c := startContainerd(t)
		d := startDockerdWith(t, c, config, nil)
		if _, err := d.docker("load", "-i", e.saveImages(t, c.dir, e.image)); err != nil {
			t.Fatal(err)
		}
		out, err := d.docker("run", "--rm", "--network", "none", "--runtime", "capgen-"+name, "--privileged", e.image+":latest", "grep", "Cap", "/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		sets := mustStatus(t, out)
		checkRootSets(t, "docker run --privileged after capgen configure", sets, r.applies().Intersect(dockerKnows))
		t.Logf("%s: docker run --privileged through capgen-%s: CapBnd %s", r.name, name, sets.Bounding.Bitmap())
		d.stop()
		configure("--engine", "docker", "--config", config, "--remove")
		if got, _ := os.ReadFile(config); !bytes.Equal(got, original) {
			t.Errorf("daemon.json after --remove:\n%s\nwant, byte for byte:\n%s", got, original)
		}
		if _, err := os.Lstat(link); !os.IsNotExist(err) {
			t.Errorf("shim link %s left after --remove: %v", link, err)
		}
		d = startDockerdWith(t, c, config, nil)
		if out, err := d.docker("run", "--rm", "--network", "none", "--runtime", "capgen-"+name, e.image+":latest", "true"); err == nil || !strings.Contains(strings.ToLower(out), "unknown runtime") {
			t.Errorf("docker run --runtime capgen-%s after --remove: %v %s; want unknown runtime", name, err, out)
		}
		for _, root := range d.runcRoots() {
			if list, _ := exec.Command(r.path, "--root", root, "list", "-q").Output(); strings.TrimSpace(string(list)) != "" {
				t.Errorf("runc --root %s list after the test: %q", root, list)
			}
		}
	})
}

// podman 4.3.1 with capgen configure's hook, then its shim, and buildah
// 1.28.2 with the shim as its default runtime: each runs --privileged (for
// buildah, run --cap-add all) through capgen; after --remove the drop-ins,
// the hook file and the link are gone, and podman no longer knows the
// shim's name.
func TestE2EConfigurePodmanBuildah(t *testing.T) {
	e := requireEngines(t)
	forEachRunc(t, e, func(t *testing.T, er engineRuntime, name, link string, configure func(...string) string) {
		r := er.r
		full := r.applies()
		dropIn := func(what string) string {
			path := fmt.Sprintf("/etc/containers/containers.conf.d/zz-capgen-e2e-%s-%s.conf", what, name)
			t.Cleanup(func() { os.Remove(path) })
			return path
		}
		gone := func(paths ...string) {
			t.Helper()
			for _, p := range paths {
				if _, err := os.Lstat(p); !os.IsNotExist(err) {
					t.Errorf("%s left after capgen configure --remove: %v", p, err)
				}
			}
		}

		hooksDir, hookConf := filepath.Join(t.TempDir(), "hooks.d"), dropIn("hook")
		hook := []string{"--engine", "podman", "--mode", "hook", "--config", hookConf, "--hooks-dir", hooksDir}
		configure(hook...)
		sets := e.podmanRun(t, er.path, "", "--privileged")
		checkRootSets(t, "podman --privileged with configure's hook", sets, full)
		t.Logf("%s: podman --privileged with the hook: CapBnd %s", r.name, sets.Bounding.Bitmap())
		configure(append(hook, "--remove")...)
		gone(hookConf, filepath.Join(hooksDir, "99-capgen.json"))

		shimConf := dropIn("shim")
		shim := []string{"--engine", "podman", "--mode", "shim", "--config", shimConf}
		configure(shim...)
		sets = e.podmanRun(t, "capgen-"+name, "", "--privileged")
		checkRootSets(t, "podman --privileged through configure's shim", sets, full)
		t.Logf("%s: podman --runtime capgen-%s --privileged: CapBnd %s", r.name, name, sets.Bounding.Bitmap())
		configure(append(shim, "--remove")...)
		gone(shimConf, link)
		if out, err := e.podmanTry("capgen-"+name, "", e.image, "--privileged"); err == nil {
			t.Errorf("podman --runtime capgen-%s after --remove ran:\n%s", name, out)
		}

		buildahConf := dropIn("buildah")
		buildah := []string{"--engine", "buildah", "--config", buildahConf, "--set-default"}
		configure(buildah...)
		ctr := containerID(t)
		if _, err := e.run(e.buildah, append(e.storage, "from", "--name", ctr, "--security-opt", "seccomp=unconfined", e.image)...); err != nil {
			t.Fatal(err)
		}
		defer e.run(e.buildah, append(e.storage, "rm", ctr)...)
		out, err := e.run(e.buildah, append(e.storage, "run", "--isolation", "oci", "--network", "none", "--cap-add", "all", ctr, "grep", "Cap", "/proc/self/status")...)
		if err != nil {
			t.Fatal(err)
		}
		sets = mustStatus(t, out)
		checkRootSets(t, "buildah run --cap-add all with configure's default runtime", sets, full)
		t.Logf("%s: buildah run --cap-add all, default runtime capgen-%s: CapBnd %s", r.name, name, sets.Bounding.Bitmap())
		configure(append(buildah, "--remove")...)
		gone(buildahConf, link)
	})
}

// containerd with the CRI handler capgen configure adds to its config.toml,
// in each layout configure edits: containerd 1.6's version 2 (Debian's
// 1.6.20, and v2.4.2, which migrates it in memory), a version 3 file, and
// v2.4.2's own `containerd config default`, version 4. A privileged pod
// through the handler, driven by crictl as the kubelet would, and with
// --set-default one that names no handler; after --remove the file is back
// byte for byte and a restarted containerd has no such handler.
func TestE2EConfigureContainerd(t *testing.T) {
	e := requireEngines(t)
	crictl := requireCrictl(t)
	sandbox := e.criSandbox(t)
	v2 := containerd2(t)
	defaults, err := exec.Command(v2.containerd, "config", "default").Output()
	if err != nil {
		t.Fatalf("containerd v2.4.2 config default: %v", err)
	}
	for _, layout := range []struct {
		name       string
		rel        containerdRelease
		version    int
		config     func(dir string) []byte // nil: startRelease's version 2 config
		setDefault bool
	}{
		{"containerd-1.6.20, version 2", debianContainerd(t), 2, nil, false},
		{"containerd-v2.4.2, version 2", v2, 2, nil, false},
		{"containerd-v2.4.2, version 3", v2, 3, func(dir string) []byte { return containerdV3(dir, sandbox) }, true},
		{"containerd-v2.4.2, its config default (version 4)", v2, 4, func(dir string) []byte { return containerdV4(t, defaults, dir, sandbox) }, true},
	} {
		t.Run(layout.name, func(t *testing.T) {
			forEachRunc(t, e, func(t *testing.T, er engineRuntime, name, link string, configure func(...string) string) {
				r := er.r
				args := []string{"--engine", "containerd"}
				if layout.setDefault {
					args = append(args, "--set-default")
				}
				var original []byte
				var config string
				start := func(edit func(string)) *containerd {
					return e.startCRI(t, layout.rel, sandbox, nil, func(path string) {
						if layout.config != nil {
							writeFile(t, path, layout.config(filepath.Dir(path)), 0o644)
						}
						edit(path)
					})
				}
				c := start(func(path string) {
					config = path
					original, _ = os.ReadFile(path)
					out := configure(append(args, "--config", path)...)
					if !strings.Contains(out, "kind: RuntimeClass") || !strings.Contains(out, "handler: capgen-"+name) {
						t.Errorf("capgen configure printed no RuntimeClass for the handler:\n%s", out)
					}
					data, _ := os.ReadFile(path)
					if want := fmt.Sprintf("version = %d\n", layout.version); !bytes.HasPrefix(data, []byte(want)) {
						t.Errorf("config.toml after configure does not begin %q: configure never migrates", want)
					}
				})
				handlers := []string{"capgen-" + name}
				if layout.setDefault {
					handlers = append(handlers, "") // default_runtime_name
				}
				for _, handler := range handlers {
					pod, ctr := c.criPod(t, crictl, handler, e.image+":latest")
					logs, err := c.crictl(t, crictl, "logs", ctr)
					if err != nil {
						t.Fatal(err)
					}
					sets := mustStatus(t, logs)
					what := "handler " + cmp.Or(handler, "(none: the default, capgen-"+name+")")
					checkRootSets(t, "the privileged CRI container through "+what, sets, r.applies())
					t.Logf("%s, %s: CRI pod through %s: CapBnd %s", layout.name, r.name, what, sets.Bounding.Bitmap())
					c.removePod(t, crictl, pod)
					root := filepath.Join("/run/containerd/runc", criNamespace)
					if list, _ := exec.Command(r.path, "--root", root, "list", "-q").Output(); strings.Contains(string(list), ctr) {
						t.Errorf("runc --root %s list after the pod was removed: %q", root, list)
					}
				}
				configure(append(args, "--config", config, "--remove")...)
				if got, _ := os.ReadFile(config); !bytes.Equal(got, original) {
					t.Errorf("config.toml after --remove:\n%s\nwant, byte for byte:\n%s", got, original)
				}
				// Restarted on that config (the daemon's directory is its own:
				// a new one, configured and unconfigured the same way).
				c.stop()
				c = start(func(path string) {
					before, _ := os.ReadFile(path)
					configure(append(args, "--config", path)...)
					configure(append(args, "--config", path, "--remove")...)
					if got, _ := os.ReadFile(path); !bytes.Equal(got, before) {
						t.Errorf("config.toml after configure and --remove:\n%s\nwant, byte for byte:\n%s", got, before)
					}
				})
				if _, err := os.Lstat(link); !os.IsNotExist(err) {
					t.Errorf("shim link %s left after --remove: %v", link, err)
				}
				podFile := filepath.Join(c.dir, "removed-pod.json")
				writeFile(t, podFile, []byte(`{"metadata": {"name": "removed", "namespace": "capgen-e2e", "uid": "removed"}, "linux": {"security_context": {"namespace_options": {"network": 2}}}}`), 0o644)
				if out, err := c.crictl(t, crictl, "runp", "--runtime", "capgen-"+name, podFile); err == nil {
					c.removePod(t, crictl, "removed")
					t.Errorf("crictl runp --runtime capgen-%s after --remove: %s; want no such handler", name, out)
				}
			})
		})
	}
}

// containerdV3 is a version 3 config.toml (containerd 2.0's layout: server
// addresses at the top, the CRI in its images and runtime halves) for a
// daemon of the test's own in dir.
func containerdV3(dir, sandbox string) []byte {
	return []byte(fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins]
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = %[5]q

  [plugins.'io.containerd.cri.v1.runtime']
    restrict_oom_score_adj = true

    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'

    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [%[6]q]
      conf_dir = %[7]q

  [plugins.'io.containerd.nri.v1.nri']
    disable = true
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), filepath.Join(dir, "containerd.sock"),
		filepath.Join(dir, "containerd.sock.ttrpc"), sandbox, filepath.Join(dir, "cni-bin"), filepath.Join(dir, "cni-conf")))
}

// containerdV4 is containerd v2.4.2's `containerd config default` with
// what makes it a daemon of the test's own in dir: its paths, socket and
// sandbox image, the oom_score_adj this host allows (no CAP_SYS_RESOURCE),
// no NRI socket beside the host's, no imports. Each line replaced must be
// there once, so a changed default fails the test instead of the host.
func containerdV4(t *testing.T, defaults []byte, dir, sandbox string) []byte {
	t.Helper()
	out := string(defaults)
	for _, r := range []struct{ re, with string }{
		{`(?m)^root = '.*'$`, fmt.Sprintf("root = %q", filepath.Join(dir, "root"))},
		{`(?m)^state = '.*'$`, fmt.Sprintf("state = %q", filepath.Join(dir, "state"))},
		{`(?m)^imports = \[.*\]$`, "imports = []"},
		{`(?m)^(\s+)sandbox = '.*'$`, fmt.Sprintf("${1}sandbox = %q", sandbox)},
		{`(?m)^(\s+)restrict_oom_score_adj = false$`, "${1}restrict_oom_score_adj = true"},
		{`(?m)^(\s+)bin_dirs = \['/opt/cni/bin'\]$`, fmt.Sprintf("${1}bin_dirs = [%q]", filepath.Join(dir, "cni-bin"))},
		{`(?m)^(\s+)conf_dir = '/etc/cni/net.d'$`, fmt.Sprintf("${1}conf_dir = %q", filepath.Join(dir, "cni-conf"))},
		{`(?m)^(\s+)path = '/opt/containerd'$`, fmt.Sprintf("${1}path = %q", filepath.Join(dir, "opt"))},
		{`(?m)^(\s+\[plugins\.'io\.containerd\.nri\.v1\.nri'\]\n\s+)disable = false$`, "${1}disable = true"},
		{`(?m)^(\s+)address = '/run/containerd/containerd\.sock'$`, fmt.Sprintf("${1}address = %q", filepath.Join(dir, "containerd.sock"))},
		{`(?m)^(\s+)address = '/run/containerd/containerd\.sock\.ttrpc'$`, fmt.Sprintf("${1}address = %q", filepath.Join(dir, "containerd.sock.ttrpc"))},
	} {
		re := regexp.MustCompile(r.re)
		if n := len(re.FindAllStringIndex(out, -1)); n != 1 {
			t.Fatalf("containerd v2.4.2's config default: %s found %d times, want once", r.re, n)
		}
		out = re.ReplaceAllString(out, r.with)
	}
	return []byte(out)
}

// TestE2EConfigurePodmanDefault runs capgen configure --engine podman
// with no mode, which makes the shim capgen-runc Podman's default runtime,
// and lists it in runtime_supports_json beside runc: Debian's podman 4.3.1,
// given no --runtime, runs --privileged and exec --privileged through it,
// and reports a runtime's error in the words it uses for runc itself, which
// it reads from the runtime's JSON log.
func TestE2EConfigurePodmanDefault(t *testing.T) {
	e := requireEngines(t)
	var runc engineRuntime
	for _, er := range e.runtimes {
		if strings.HasPrefix(er.r.name, "runc-1.1.5") {
			runc = er
		}
	}
	if runc.path == "" {
		t.Fatal("Debian's runc 1.1.5 is not among the engines' runtimes")
	}
	dropIn := "/etc/containers/containers.conf.d/zz-capgen-e2e-configure-default.conf"
	link := filepath.Join(filepath.Dir(e.capgen), "capgen-runc")
	t.Cleanup(func() {
		os.Remove(dropIn)
		os.Remove(link)
	})
	configure := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(e.capgen, append([]string{"configure", "--engine", "podman", "--config", dropIn}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("capgen configure %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	t.Logf("capgen configure --engine podman:\n%s", configure())
	if out, err := e.run(e.podman, append(e.storage, "info", "--format", "{{.Host.OCIRuntime.Name}}")...); err != nil || strings.TrimSpace(out) != "capgen-runc" {
		t.Fatalf("podman info: runtime %q (%v); want capgen-runc", out, err)
	}
	full := runc.r.applies()
	checkRootSets(t, "podman run --privileged, default runtime", e.podmanRun(t, "", "", "--privileged"), full)
	out, err := e.podmanExecTry(t, "capgen-runc", "", nil, []string{"--privileged"})
	if err != nil {
		t.Fatal(err)
	}
	checkRootSets(t, "podman exec --privileged, default runtime", mustStatus(t, out), full)
	// The same failure through the shim and through runc, in the same words.
	words := func(runtime string) string {
		out, err := e.podmanTry(runtime, "", e.image, "--entrypoint", "/nonexistent")
		if err == nil {
			t.Fatalf("podman run --runtime %s /nonexistent ran", runtime)
		}
		return strings.TrimPrefix(lastLine(out), "Error: "+runtime+": ")
	}
	if shim, real := words("capgen-runc"), words("runc"); shim != real {
		t.Errorf("podman's error through the shim:\n%s\nthrough runc:\n%s", shim, real)
	} else {
		t.Logf("both: %s", real)
	}
	configure("--remove")
	if _, err := os.Lstat(dropIn); !os.IsNotExist(err) {
		t.Errorf("%s left after --remove: %v", dropIn, err)
	}
}
