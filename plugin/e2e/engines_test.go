package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/internal/shim"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
)

// The real engines of this machine — Debian's podman 4.3.1 and buildah
// 1.28.2 — with capgen's precreate hook and with its runtime shim, each over
// Debian's runc 1.1.5, runc v1.0.0-rc92, which fails any container naming a
// capability after CAP_AUDIT_READ, and crun 1.17 and 1.27.1. On a hybrid
// cgroup host the engines run crun through a wrapper that hides
// /sys/fs/cgroup/unified (see needsHybridWorkaround).

// engineTimeout bounds one engine command.
const engineTimeout = 2 * time.Minute

// engines is what the engine tests share, set up once per test binary.
type engines struct {
	podman, buildah string
	capgen          string
	dir             string   // storage, hooks, shim links; removed by TestMain
	storage         []string // global flags of both engines
	image           string
	nofile          string // --ulimit nofile=, see nofile
	dropIn          string // containers.conf drop-in naming the shims' runtimes
	runtimes        []engineRuntime
}

// engineRuntime is a real runtime and the shim standing for it.
type engineRuntime struct {
	r    ociRuntime
	path string // what the engine runs: r.path, or its hybrid-cgroup wrapper
	shim string // a link capgen-KEY to capgen, KEY the runtime's engine.runtimes name for path
}

// enginesOnce is engines set up once per test binary.
type enginesOnce struct {
	once sync.Once
	e    *engines
	err  error
}

// shared are Debian's podman and buildah.
var shared enginesOnce

// requireEngines returns the engines, or skips t (fails it with
// CAPGEN_REQUIRE_E2E=1) when podman, buildah or the runtimes are missing.
func requireEngines(t *testing.T) *engines {
	t.Helper()
	h, rts := setup(t)
	var picked []ociRuntime
	for _, r := range rts {
		if strings.HasPrefix(r.name, "runc-1.1.5") || slices.Contains([]string{"runc-v1.0.0-rc92", "crun-1.17", "crun-1.27.1"}, r.name) {
			picked = append(picked, r)
		}
	}
	if len(picked) != 4 {
		unavailable(t, "the engine tests need Debian's runc 1.1.5, runc v1.0.0-rc92, crun 1.17 and 1.27.1 (%s); found %d", runtimesVar, len(picked))
	}
	podman, errP := exec.LookPath("podman")
	buildah, errB := exec.LookPath("buildah")
	if errP != nil || errB != nil {
		unavailable(t, "podman or buildah not installed (Debian: apt-get install podman buildah): %v %v", errP, errB)
	}
	shared.once.Do(func() { shared.e, shared.err = newEngines(t, h, podman, buildah, picked) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.e
}

func newEngines(t *testing.T, h host, podman, buildah string, rts []ociRuntime) (*engines, error) {
	dir, err := os.MkdirTemp("", "capgen-e2e-engines-")
	if err != nil {
		return nil, err
	}
	e := &engines{podman: podman, buildah: buildah, dir: dir, image: "localhost/capgen-e2e-busybox", nofile: nofile(t)}
	e.storage = []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "runroot"), "--storage-driver", "vfs"}
	e.capgen = buildCapgen(t)
	if err := copyFile(e.capgen, filepath.Join(dir, "capgen")); err != nil {
		return nil, err
	}
	e.capgen = filepath.Join(dir, "capgen") // outlives the first test's temporary directory
	var suffix [4]byte
	rand.Read(suffix[:])
	var conf strings.Builder
	conf.WriteString("# capgen's end-to-end tests: the runtimes of their shims. Remove if left behind.\n[engine.runtimes]\n")
	for _, r := range rts {
		key := "capgen-e2e-" + hex.EncodeToString(suffix[:]) + "-" + strings.NewReplacer(".", "-", "+", "-").Replace(r.name)
		path := r.path
		if r.needsHybridWorkaround() {
			path = hybridWrapper(t, dir, r)
		}
		fmt.Fprintf(&conf, "%q = [%q]\n", key, path)
		shim := filepath.Join(dir, shim.Prefix+key)
		if err := os.Symlink(e.capgen, shim); err != nil {
			return nil, err
		}
		e.runtimes = append(e.runtimes, engineRuntime{r: r, path: path, shim: shim})
	}
	// Podman runs "RUNTIME start" with no environment but XDG_RUNTIME_DIR,
	// so the shim finds its runtime through a drop-in, as installed.
	if err := os.MkdirAll("/etc/containers/containers.conf.d", 0o755); err != nil {
		return nil, err
	}
	e.dropIn = "/etc/containers/containers.conf.d/zz-capgen-e2e-" + hex.EncodeToString(suffix[:]) + ".conf"
	if err := os.WriteFile(e.dropIn, []byte(conf.String()), 0o644); err != nil {
		return nil, err
	}
	return e, e.importImage(h)
}

// importImage imports a busybox-static root file system as e.image.
func (e *engines) importImage(h host) error {
	tarball, err := busyboxTarball(h, e.dir)
	if err != nil {
		return err
	}
	_, err = e.run(e.podman, append(e.storage, "import", tarball, e.image)...)
	return err
}

// busyboxTarball writes a root file system of h's static busybox, with the
// applets the tests run, to dir/image.tar and returns its path.
func busyboxTarball(h host, dir string) (string, error) {
	root := filepath.Join(dir, "image")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		return "", err
	}
	if err := copyFile(h.busybox, filepath.Join(root, "bin", "busybox")); err != nil {
		return "", err
	}
	for _, applet := range []string{"sh", "grep", "cat", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			return "", err
		}
	}
	tarball := filepath.Join(dir, "image.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", tarball, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("tar: %v: %s", err, out)
	}
	return tarball, nil
}

// saveImages writes images, of the engines' storage, to a docker-archive
// in dir that containerd and Docker import, and returns its path.
func (e *engines) saveImages(t *testing.T, dir string, images ...string) string {
	t.Helper()
	archive := filepath.Join(dir, "images.tar")
	args := append(append([]string{}, e.storage...), "save", "--multi-image-archive", "--format", "docker-archive", "-o", archive)
	if _, err := e.run(e.podman, append(args, images...)...); err != nil {
		t.Fatal(err)
	}
	return archive
}

// cleanup removes what the engine tests made: containers, storage, the
// drop-in.
func (e *engines) cleanup() {
	if e == nil {
		return
	}
	if e.buildah != "" {
		e.run(e.buildah, append(e.storage, "rm", "--all")...)
	}
	e.run(e.podman, append(e.storage, "rm", "--all", "--force")...)
	os.Remove(e.dropIn)
	os.RemoveAll(e.dir)
}

// run runs an engine command and returns its combined output.
func (e *engines) run(bin string, args ...string) (string, error) {
	return e.runEnv(nil, bin, args...)
}

// runEnv is run with env added to the environment.
func (e *engines) runEnv(env []string, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(append(os.Environ(), "CAPGEN_CACHE_DIR="+filepath.Join(e.dir, "cache")), env...)
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// podmanRun runs `grep Cap /proc/self/status` in a podman container with
// the given runtime, hooks directory ("" for none) and run options, and
// returns the container's sets.
func (e *engines) podmanRun(t *testing.T, runtime, hooksDir string, opts ...string) plugin.Sets {
	t.Helper()
	return e.podmanRunImage(t, runtime, hooksDir, e.image, opts...)
}

// podmanRunImage is podmanRun with image.
func (e *engines) podmanRunImage(t *testing.T, runtime, hooksDir, image string, opts ...string) plugin.Sets {
	t.Helper()
	out, err := e.podmanTry(runtime, hooksDir, image, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return mustStatus(t, out)
}

// podmanTry is podmanRunImage returning podman's output and its error.
func (e *engines) podmanTry(runtime, hooksDir, image string, opts ...string) (string, error) {
	return e.podmanTryEnv(nil, runtime, hooksDir, image, opts...)
}

// podmanTryEnv is podmanTry with env added to podman's environment.
func (e *engines) podmanTryEnv(env []string, runtime, hooksDir, image string, opts ...string) (string, error) {
	args := append(append([]string{}, e.storage...), "--cgroup-manager", "cgroupfs", "--events-backend", "none")
	if runtime != "" { // "": containers.conf's default runtime
		args = append(args, "--runtime", runtime)
	}
	if hooksDir != "" {
		args = append(args, "--hooks-dir", hooksDir)
	}
	args = append(args, "run", "--rm", "--network", "none", "--ulimit", "nofile="+e.nofile, "--ulimit", "nproc=32768:32768",
		"--security-opt", "seccomp=unconfined") // runc v1.0.0-rc92 fails Podman's default profile (bdflush)
	args = append(append(args, opts...), image, "grep", "Cap", "/proc/self/status")
	return e.runEnv(env, e.podman, args...)
}

// buildahRun runs `grep Cap /proc/self/status` with buildah run through
// runtime, --cap-add all, and returns the container's sets.
func (e *engines) buildahRun(t *testing.T, runtime string) plugin.Sets {
	t.Helper()
	name := containerID(t)
	// Buildah 1.44 raises RLIMIT_NPROC and RLIMIT_NOFILE unless told
	// otherwise, which needs CAP_SYS_RESOURCE, which this host lacks.
	if _, err := e.run(e.buildah, append(e.storage, "from", "--name", name, "--security-opt", "seccomp=unconfined",
		"--ulimit", "nofile="+e.nofile, "--ulimit", "nproc=32768:32768", e.image)...); err != nil {
		t.Fatal(err)
	}
	defer e.run(e.buildah, append(e.storage, "rm", name)...)
	out, err := e.run(e.buildah, append(e.storage, "run", "--isolation", "oci", "--network", "none", "--runtime", runtime,
		"--cap-add", "all", name, "grep", "Cap", "/proc/self/status")...)
	if err != nil {
		t.Fatal(err)
	}
	return mustStatus(t, out)
}

// mustStatus parses the Cap lines of an engine's output, which may hold
// the shim's warnings before them.
func mustStatus(t *testing.T, out string) plugin.Sets {
	t.Helper()
	var caps strings.Builder
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "Cap") {
			caps.WriteString(line)
		}
	}
	sets, err := parseStatus(caps.String())
	if err != nil {
		t.Fatalf("engine output: %v\n%s", err, out)
	}
	return sets
}

// nofile is this process's open-file limit as Podman's --ulimit takes it:
// Podman's default raises it, which a bounding set without
// CAP_SYS_RESOURCE does not allow.
func nofile(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", "ulimit -Sn; ulimit -Hn").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("ulimit: %q", out)
	}
	return f[0] + ":" + f[1]
}

// shippedHook is the hooks.d file docs/hook.md installs.
const shippedHook = "../../cmd/capgen/hooks.d/99-capgen.json"

// writeHook installs the shipped hooks.d file into a new hooks directory
// as docs/hook.md says, for runtime, with capgen's path and the test's cache
// directory put in and args added to the hook's arguments.
func (e *engines) writeHook(t *testing.T, runtime string, args ...string) string {
	t.Helper()
	data := hookFileFor(t, e.capgen, append([]string{"--runtime", runtime, "--cache-dir", filepath.Join(e.dir, "cache")}, args...)...)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, filepath.Base(shippedHook)), data, 0o644)
	return dir
}

// hookFileFor returns the shipped hooks.d file with capgen's path put in
// and args added to the hook's arguments.
func hookFileFor(t *testing.T, capgen string, args ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(shippedHook)
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatalf("%s: %v", shippedHook, err)
	}
	hook := file["hook"].(map[string]any)
	hook["path"] = capgen
	for _, a := range args {
		hook["args"] = append(hook["args"].([]any), a)
	}
	hook["timeout"] = 30 // the trial of an old runtime on a loaded CI machine
	if data, err = json.Marshal(file); err != nil {
		t.Fatal(err)
	}
	return data
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}

// checkRootSets fails t unless the container's bounding, effective and
// permitted sets are want.
func checkRootSets(t *testing.T, what string, got plugin.Sets, want capnames.Set) {
	t.Helper()
	if got.Bounding != want || got.Effective != want || got.Permitted != want {
		t.Errorf("%s: CapBnd %s CapEff %s CapPrm %s; want %s (kernel ∩ bounding set ∩ runtime)",
			what, got.Bounding.Bitmap(), got.Effective.Bitmap(), got.Permitted.Bitmap(), want.Bitmap())
	}
	t.Logf("%s: CapBnd %s CapEff %s", what, got.Bounding.Bitmap(), got.Effective.Bitmap())
}

// Podman 4.3.1 with capgen's hook as docs/hook.md installs it (every
// container): --privileged, with and without --widen-privileged,
// --cap-add=all, --cap-drop and --user 1000 --cap-add net_bind_service.
func TestE2EPodmanHook(t *testing.T) {
	e := requireEngines(t)
	defaults := parseAll(t, podmanDefaults(t)...)
	netBind := capnames.SetOf(capnames.CAP_NET_BIND_SERVICE)
	for _, er := range e.runtimes {
		r := er.r
		t.Run(r.name, func(t *testing.T) {
			full := r.applies()
			hook := e.writeHook(t, er.path)
			checkRootSets(t, "--privileged", e.podmanRun(t, er.path, hook, "--privileged"), full)
			checkRootSets(t, "--privileged, --widen-privileged", e.podmanRun(t, er.path, e.writeHook(t, er.path, "--widen-privileged"), "--privileged"), full)
			checkRootSets(t, "--cap-add=all", e.podmanRun(t, er.path, hook, "--cap-add=all"), full)
			checkRootSets(t, "--cap-drop chown", e.podmanRun(t, er.path, hook, "--cap-drop", "chown"),
				defaults.Minus(capnames.SetOf(capnames.CAP_CHOWN)).Intersect(full))
			got := e.podmanRun(t, er.path, hook, "--user", "1000", "--cap-add", "net_bind_service")
			if want := defaults.Union(netBind).Intersect(full); got.Bounding != want || got.Effective != netBind || got.Ambient != netBind {
				t.Errorf("--user 1000 --cap-add net_bind_service: CapBnd %s CapEff %s CapAmb %s; want %s, %s, %s",
					got.Bounding.Bitmap(), got.Effective.Bitmap(), got.Ambient.Bitmap(), want.Bitmap(), netBind.Bitmap(), netBind.Bitmap())
			}
		})
	}
}

// Podman 4.3.1 and buildah 1.28.2 with the shim as their OCI runtime:
// --privileged and --cap-add=all, and buildah run --cap-add all, which
// without capgen fails on a host whose bounding set lacks a capability.
func TestE2EEnginesShim(t *testing.T) {
	e := requireEngines(t)
	for _, er := range e.runtimes {
		r := er.r
		t.Run(r.name, func(t *testing.T) {
			full := r.applies()
			checkRootSets(t, "podman --privileged", e.podmanRun(t, er.shim, "", "--privileged"), full)
			checkRootSets(t, "podman --cap-add=all", e.podmanRun(t, er.shim, "", "--cap-add=all"), full)
			checkRootSets(t, "buildah run --cap-add all", e.buildahRun(t, er.shim), full)
		})
	}
}

// The shim's features advertise ALL_CAPS, so a probe reports it and
// capgen resolve emits ["ALL_CAPS"] for --cap-add all; that bundle runs
// under the shim with kernel ∩ bounding set ∩ what the real runtime
// applies.
func TestE2EShimAllCaps(t *testing.T) {
	e := requireEngines(t)
	for _, er := range e.runtimes {
		r := er.r
		t.Run(r.name, func(t *testing.T) {
			f, err := (&ociruntime.Prober{CacheDir: t.TempDir()}).Probe(context.Background(), er.shim)
			if err != nil {
				t.Fatal(err)
			}
			if !f.AllCaps || !f.Shim {
				t.Fatalf("probe of %s: AllCaps %t, Shim %t; want both", er.shim, f.AllCaps, f.Shim)
			}
			out, err := exec.Command(e.capgen, "resolve", "--runtime", er.shim, "--cache-dir", t.TempDir(), "--cap-add", "all", "--json").Output()
			if err != nil {
				t.Fatalf("capgen resolve: %v", err)
			}
			var resolved struct {
				Capabilities struct{ Bounding []string }
			}
			if err := json.Unmarshal(out, &resolved); err != nil {
				t.Fatalf("capgen resolve --json: %v\n%s", err, out)
			}
			if b := resolved.Capabilities.Bounding; len(b) != 1 || b[0] != capnames.AllCaps {
				t.Fatalf("capgen resolve --runtime %s --cap-add all: bounding %q, want [\"ALL_CAPS\"]", er.shim, b)
			}
			spec := baseSpec(root)
			if _, err := plugin.Apply(spec, plugin.Request{Adds: []string{"all"}, Runtime: f}); err != nil {
				t.Fatal(err)
			}
			if b := spec.Process.Capabilities.Bounding; len(b) != 1 || b[0] != capnames.AllCaps {
				t.Fatalf("plugin.Apply for the shim wrote bounding %q, want [ALL_CAPS]", b)
			}
			shimmed := r
			shimmed.path = er.shim
			shimmed.host.hybrid = false // the shim's runtime is the wrapper already
			got := runConfig(t, shimmed, marshalSpec(t, spec))
			checkRootSets(t, "ALL_CAPS through "+filepath.Base(er.shim), got, r.applies())
		})
	}
}
