package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
)

// runtimesVar names the directory of the runc and crun releases that
// hack/build-runtimes.sh builds, as runc-<version> and crun-<version>;
// .ci/run sets it.
const runtimesVar = "CAPGEN_E2E_RUNTIMES"

// A release is a runc release of the matrix and what it names, from its
// source rather than from capgen's probe, so that the tests check the
// probe: runc before v1.0.0-rc93 took its names from an older
// syndtr/gocapability, which stops at CAP_AUDIT_READ (37), and fails a
// container that names a later one (`unknown capability "CAP_PERFMON"`).
// Every later release names all 41 capabilities of Linux 5.9. None takes
// numerals.
type release struct {
	version  string
	lastName capnames.Cap // the last capability it names
}

// crunReleases are the crun releases built from ../shared/peers/crun:
// both list all 41 names in features and, like every crun, take numerals
// through libcap.
var crunReleases = []release{
	{"1.17", capnames.CAP_CHECKPOINT_RESTORE},
	{"1.27.1", capnames.CAP_CHECKPOINT_RESTORE},
}

var runcReleases = []release{
	{"v1.0.0-rc91", capnames.CAP_AUDIT_READ},
	{"v1.0.0-rc92", capnames.CAP_AUDIT_READ},
	{"v1.0.0-rc93", capnames.CAP_CHECKPOINT_RESTORE},
	{"v1.0.2", capnames.CAP_CHECKPOINT_RESTORE},
	{"v1.2.8", capnames.CAP_CHECKPOINT_RESTORE},
	{"v1.3.7", capnames.CAP_CHECKPOINT_RESTORE},
	{"v1.4.4", capnames.CAP_CHECKPOINT_RESTORE},
	{"v1.5.3", capnames.CAP_CHECKPOINT_RESTORE},
}

// setup returns the host and every runtime of the matrix — Debian's runc
// and crun, and the runc and crun releases in $CAPGEN_E2E_RUNTIMES — or skips t
// (fails it with CAPGEN_REQUIRE_E2E=1) when any is missing.
func setup(t *testing.T) (host, []ociRuntime) {
	t.Helper()
	h := requireHost(t)
	rts := []ociRuntime{requireRuntime(t, h, "runc"), requireRuntime(t, h, "crun")}
	return h, append(rts, requireReleases(t, h)...)
}

// requireReleases returns the runc and crun releases built into
// $CAPGEN_E2E_RUNTIMES.
func requireReleases(t *testing.T, h host) []ociRuntime {
	t.Helper()
	dir := os.Getenv(runtimesVar)
	if dir == "" {
		// The installed runtimes still run; only the releases are missing.
		msg := fmt.Sprintf("%s is not set, so the runc and crun releases are not run: build them with hack/build-runtimes.sh DIR and set %s=DIR", runtimesVar, runtimesVar)
		if os.Getenv(requireVar) == "1" {
			t.Fatalf("%s (%s=1 requires them)", msg, requireVar)
		}
		t.Log(msg)
		return nil
	}
	var rts []ociRuntime
	for _, kind := range []struct {
		name     string
		releases []release
	}{{"runc", runcReleases}, {"crun", crunReleases}} {
		for _, rel := range kind.releases {
			name := kind.name + "-" + rel.version
			path := filepath.Join(dir, name)
			if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
				unavailable(t, "%s %s is not built in %s (hack/build-runtimes.sh %s)", kind.name, rel.version, dir, dir)
				continue
			}
			rts = append(rts, newRuntime(t, h, name, kind.name, path, rel.lastName))
		}
	}
	return rts
}

// probes memoises one probe per runtime for the whole test binary, as an
// engine's would be, in a cache directory of the binary's own: the trial of
// a runtime without features runs once, not once per test.
var probes = struct {
	sync.Mutex
	dir    string
	prober *ociruntime.Prober
}{}

// features probes r as an engine would, once per test binary.
func (r ociRuntime) features(t *testing.T) *plugin.Features {
	t.Helper()
	probes.Lock()
	defer probes.Unlock()
	if probes.prober == nil {
		dir, err := os.MkdirTemp("", "capgen-e2e-probes-")
		if err != nil {
			t.Fatal(err)
		}
		probes.dir = dir
		// The test binary is no reporter for a trial inside a sandboxed
		// runtime's container: a static capgen is (ServeReport).
		reporter := buildCommand(t, dir, "capgen")
		probes.prober = &ociruntime.Prober{CacheDir: filepath.Join(dir, "cache"), Reporter: reporter}
	}
	path := r.path
	if r.needsHybridWorkaround() {
		path = hybridWrapper(t, probes.dir, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := probes.prober.ProbeWith(ctx, nil, path, r.globals)
	if err != nil {
		t.Fatalf("probing %s: %v", path, err)
	}
	return f
}

// hybridWrapper returns a script in dir that runs crun as the tests run it
// on a hybrid cgroup host (see needsHybridWorkaround), so that its trial
// can create containers.
func hybridWrapper(t *testing.T, dir string, r ociRuntime) string {
	t.Helper()
	path := filepath.Join(dir, r.name+"-hybrid")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	script := fmt.Sprintf("#!/bin/sh\n# %s in a mount namespace without /sys/fs/cgroup/unified, which it refuses.\n"+
		"exec %q --mount -- sh -c 'umount /sys/fs/cgroup/unified && exec \"$0\" \"$@\"' %q \"$@\"\n",
		r.name, r.host.unshare, r.path)
	writeFile(t, path, []byte(script), 0o755)
	return path
}

// TestMain removes the memoised probes' cache directory and what the
// engine tests made after the tests.
// trialCgroupPrefix begins the cgroups of a trial's containers (their ids).
const trialCgroupPrefix = "capgen-trial-"

func TestMain(m *testing.M) {
	// The shim run with no environment, as engines run it, keeps its probe
	// cache, log and records in the default directory, and the engines
	// (netavark) keep state beside it in /run/containers: remove what the
	// tests add there, in /run/nri, where a daemon serving NRI would, and in
	// /var/lib/containers, where containers/image keeps its blob-info cache
	// whatever the storage root.
	cacheDir, _ := ociruntime.DefaultCacheDir()
	dirs := []string{cacheDir, "/run/containers", "/run/nri", "/var/lib/containers"}
	before := make([]map[string]bool, len(dirs))
	existed := make([]bool, len(dirs))
	for i, d := range dirs {
		before[i] = dirEntries(d)
		_, err := os.Stat(d)
		existed[i] = err == nil
	}
	host := recordHost()
	code := m.Run()
	shared.e.cleanup()
	newest.e.cleanup()
	// A trial removes its containers' cgroups; engines leave theirs (runsc
	// one per container, Podman libpod_parent, Docker docker, CRI-O crio),
	// which are removed here.
	for _, d := range host.diff() {
		if strings.Contains(d, "/"+trialCgroupPrefix) {
			fmt.Fprintf(os.Stderr, "FAIL: a trial left its container's cgroup: %s\n", d)
			code = 1
		}
	}
	for _, f := range host.restore() {
		fmt.Fprintf(os.Stderr, "FAIL: restoring the host after the tests: %s\n", f)
		code = 1
	}
	for i, d := range dirs {
		if d == "" {
			continue
		}
		for name := range dirEntries(d) {
			if !before[i][name] {
				os.RemoveAll(filepath.Join(d, name))
			}
		}
		if !existed[i] {
			os.Remove(d)
		}
	}
	if probes.dir != "" {
		os.RemoveAll(probes.dir)
	}
	os.Exit(code)
}

// dirEntries returns the names in dir; none when it does not exist.
func dirEntries(dir string) map[string]bool {
	names := map[string]bool{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names
}
