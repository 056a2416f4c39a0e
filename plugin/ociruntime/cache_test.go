package ociruntime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/plugin"
	"go.podman.io/storage/pkg/unshare"
)

// primed returns a runc-like fake runtime and a cache directory holding its
// answer, after checking that priming ran it once.
func primed(t *testing.T) (*fakeRuntime, string) {
	t.Helper()
	r := newFakeRuntime(t, featuresBody(t, runcLikeFeatures, runcLikeVersion))
	dir := t.TempDir()
	assertFeatures(t, mustProbe(t, &Prober{CacheDir: dir}, r.path), runcLike(r.path))
	assertRuns(t, r, 1)
	return r, dir
}

func assertRuns(t *testing.T, r *fakeRuntime, want int) {
	t.Helper()
	if n := r.runs(t, "features"); n != want {
		t.Errorf("runtime ran features %d times; want %d", n, want)
	}
}

// cacheFile returns the one cache file in dir.
func cacheFile(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "features-v"+strconv.Itoa(cacheFormat)+"-*.cache"))
	if err != nil || len(files) != 1 {
		t.Fatalf("cache files in %s: %v, %v; want one", dir, files, err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".features-*")); len(tmps) != 0 {
		t.Errorf("temporary files left behind: %v", tmps)
	}
	return files[0]
}

// assertCacheFile checks that dir's cache file is a valid answer for r.
func assertCacheFile(t *testing.T, dir string, r *fakeRuntime, want *plugin.Features) {
	t.Helper()
	data, err := os.ReadFile(cacheFile(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	key, f, err := decodeCache(data)
	if err != nil {
		t.Fatalf("cache file: %v\n%s", err, data)
	}
	id, err := statBinary(r.path)
	id.Deps = scriptDeps(r.path, id.Size)
	if err != nil || key != (cacheKey{Path: r.path, binaryID: id}) {
		t.Errorf("cache file key %+v; want %s with %+v (%v)", key, r.path, id, err)
	}
	assertFeatures(t, f, want)
}

func TestCacheSecondProcessDoesNotExec(t *testing.T) {
	r, dir := primed(t)
	assertHelperProbes(t, r, dir, 1)
	assertRuns(t, r, 1)
}

func TestCacheFreshProberDoesNotExec(t *testing.T) {
	r, dir := primed(t)
	assertFeatures(t, mustProbe(t, &Prober{CacheDir: dir}, r.path), runcLike(r.path))
	assertRuns(t, r, 1)
}

// TestCacheMemo checks that a Prober answers again from memory, without
// the cache file.
func TestCacheMemo(t *testing.T) {
	r := newFakeRuntime(t, featuresBody(t, runcLikeFeatures, ""))
	dir := t.TempDir()
	p := &Prober{CacheDir: dir}
	mustProbe(t, p, r.path)
	if err := os.Remove(cacheFile(t, dir)); err != nil {
		t.Fatal(err)
	}
	assertFeatures(t, mustProbe(t, p, r.path), runcLike(r.path))
	assertRuns(t, r, 1)
}

func TestCacheReplacedBinary(t *testing.T) {
	r, dir := primed(t)
	p := &Prober{CacheDir: dir}
	mustProbe(t, p, r.path) // memoised
	r.write(t, featuresBody(t, `{"linux":{"capabilities":["CAP_CHOWN"],"capabilityExtensions":{"allCaps":{"enabled":true}}},"annotations":{"run.oci.crun.version":"1.30"}}`, ""))
	want := &plugin.Features{Runtime: r.path, Source: plugin.FromFeatures, Names: []string{"CAP_CHOWN"}, AllCaps: true, Numerals: true, Version: "crun 1.30"}
	assertFeatures(t, mustProbe(t, p, r.path), want)
	assertFeatures(t, mustProbe(t, &Prober{CacheDir: dir}, r.path), want)
	assertFeatures(t, mustProbe(t, p, r.path), want)
	assertRuns(t, r, 2)
	assertCacheFile(t, dir, r, want)
}

func TestCacheTouchedBinary(t *testing.T) {
	r, dir := primed(t)
	p := &Prober{CacheDir: dir}
	mustProbe(t, p, r.path)
	st, err := os.Stat(r.path)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(r.path, later, later); err != nil {
		t.Fatal(err)
	}
	assertFeatures(t, mustProbe(t, p, r.path), runcLike(r.path))
	assertRuns(t, r, 2)
	assertFeatures(t, mustProbe(t, &Prober{CacheDir: dir}, r.path), runcLike(r.path))
	assertRuns(t, r, 2)
	assertCacheFile(t, dir, r, runcLike(r.path))
	// Setting the old times back leaves the mtime as cached, but not the
	// ctime, which user space cannot set: still a new binary.
	if err := os.Chtimes(r.path, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	assertFeatures(t, mustProbe(t, p, r.path), runcLike(r.path))
	assertRuns(t, r, 3)
}

// TestCacheCorrupt damages the cache file in every way a reader must
// survive: a fresh Prober ignores the file, probes again and rewrites it.
func TestCacheCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, file string, data []byte)
	}{
		{"truncated", func(t *testing.T, file string, data []byte) { writeFile(t, file, data[:len(data)/2]) }},
		{"truncated before end", func(t *testing.T, file string, data []byte) {
			writeFile(t, file, bytes.TrimSuffix(data, []byte("end\n")))
		}},
		{"zeroed", func(t *testing.T, file string, data []byte) { writeFile(t, file, make([]byte, len(data))) }},
		{"empty", func(t *testing.T, file string, data []byte) { writeFile(t, file, nil) }},
		{"garbage", func(t *testing.T, file string, data []byte) {
			writeFile(t, file, []byte("\x7fELF\x02\x01\x01 not a cache\n"))
		}},
		{"newer format", func(t *testing.T, file string, data []byte) {
			this := fmt.Appendf(nil, "%s %d\n", cacheMagic, cacheFormat)
			newer := fmt.Appendf(nil, "%s %d\n", cacheMagic, cacheFormat+1)
			if !bytes.HasPrefix(data, this) {
				t.Fatalf("cache file does not start %q", this)
			}
			writeFile(t, file, bytes.Replace(data, this, newer, 1))
		}},
		{"foreign JSON", func(t *testing.T, file string, data []byte) {
			writeFile(t, file, []byte(`{"format":1,"features":{"names":["CAP_SYS_ADMIN"]}}`))
		}},
		{"another binary", func(t *testing.T, file string, data []byte) {
			writeFile(t, file, bytes.Replace(data, []byte("\nbinary "), []byte("\nbinary 1"), 1))
		}},
		{"inconsistent", func(t *testing.T, file string, data []byte) {
			writeFile(t, file, bytes.Replace(data, []byte("shim false"), []byte("shim true"), 1)) // a shim advertises ALL_CAPS
		}},
		{"huge", func(t *testing.T, file string, data []byte) {
			writeFile(t, file, append(data, bytes.Repeat([]byte("x"), maxCacheFile)...))
		}},
		{"directory in its place", func(t *testing.T, file string, data []byte) {
			// Root reads any file, so mode 000 cannot make the file
			// unreadable here (TestCacheUnreadable does it without
			// CAP_DAC_OVERRIDE); a directory cannot be read as a file.
			remove(t, file)
			if err := os.Mkdir(file, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"FIFO in its place", func(t *testing.T, file string, data []byte) {
			remove(t, file)
			if err := syscall.Mkfifo(file, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"symbolic link in its place", func(t *testing.T, file string, data []byte) {
			other := filepath.Join(t.TempDir(), "elsewhere")
			writeFile(t, other, data)
			remove(t, file)
			if err := os.Symlink(other, file); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, dir := primed(t)
			file := cacheFile(t, dir)
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			tc.damage(t, file, data)
			assertFeatures(t, mustProbe(t, &Prober{CacheDir: dir}, r.path), runcLike(r.path))
			assertRuns(t, r, 2)
			assertCacheFile(t, dir, r, runcLike(r.path))
			// The rewritten file serves the next process.
			mustProbe(t, &Prober{CacheDir: dir}, r.path)
			assertRuns(t, r, 2)
		})
	}
}

func writeFile(t *testing.T, file string, data []byte) {
	t.Helper()
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, file string) {
	t.Helper()
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
}

// TestCacheDirUnusable puts the cache directory under a regular file, where
// it can be neither read nor created: the probe still answers, with the
// memo only.
func TestCacheDirUnusable(t *testing.T) {
	r := newFakeRuntime(t, featuresBody(t, runcLikeFeatures, ""))
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, nil)
	dir := filepath.Join(file, "cache")
	p := &Prober{CacheDir: dir}
	assertFeatures(t, mustProbe(t, p, r.path), runcLike(r.path))
	assertFeatures(t, mustProbe(t, p, r.path), runcLike(r.path))
	assertRuns(t, r, 1) // the memo answered the second call
	assertFeatures(t, mustProbe(t, &Prober{CacheDir: dir}, r.path), runcLike(r.path))
	assertRuns(t, r, 2) // nothing on disk for a fresh Prober
}

func TestCacheDirMissing(t *testing.T) {
	r := newFakeRuntime(t, featuresBody(t, runcLikeFeatures, ""))
	dir := filepath.Join(t.TempDir(), "run", "containers", "capgen")
	assertFeatures(t, mustProbe(t, &Prober{CacheDir: dir}, r.path), runcLike(r.path))
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("cache directory: %v, %v; want created with mode 0700", st, err)
	}
	assertCacheFile(t, dir, r, runcLike(r.path))
}

func TestCacheDisabled(t *testing.T) {
	r := newFakeRuntime(t, featuresBody(t, runcLikeFeatures, ""))
	dir := filepath.Join(t.TempDir(), "cache")
	p := &Prober{CacheDir: dir, DisableDiskCache: true}
	mustProbe(t, p, r.path)
	mustProbe(t, p, r.path)
	assertRuns(t, r, 1)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("disabled disk cache created %s: %v", dir, err)
	}
}

// withoutDACOverride returns the setpriv prefix that runs a process as root
// without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so file modes bind it.
// Root with them reads and writes any file, whatever its mode, so this is
// how these tests make a file unreadable or a directory read-only.
func withoutDACOverride(t *testing.T) []string {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skipf("no setpriv to drop CAP_DAC_OVERRIDE: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: file modes already bind this process")
	}
	return []string{setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"}
}

// TestCacheUnreadable makes the cache file unreadable (mode 000, for a
// process without CAP_DAC_OVERRIDE): the helper probes again and replaces
// the file.
func TestCacheUnreadable(t *testing.T) {
	r, dir := primed(t)
	wrapper := withoutDACOverride(t)
	if err := os.Chmod(cacheFile(t, dir), 0); err != nil {
		t.Fatal(err)
	}
	assertHelperProbes(t, r, dir, 2, wrapper...)
	assertRuns(t, r, 2)
	if st, err := os.Stat(cacheFile(t, dir)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("cache file after rewrite: %v, %v; want mode 0600", st, err)
	}
	assertCacheFile(t, dir, r, runcLike(r.path))
}

// TestCacheDirReadOnly makes the cache directory read-only (mode 0500, for
// a process without CAP_DAC_OVERRIDE): the helper gets the right answer
// from one run, then from its memo, and writes nothing.
func TestCacheDirReadOnly(t *testing.T) {
	r := newFakeRuntime(t, featuresBody(t, runcLikeFeatures, ""))
	wrapper := withoutDACOverride(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	assertHelperProbes(t, r, dir, 3, wrapper...)
	assertRuns(t, r, 1)
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("read-only cache directory now holds %v (%v)", entries, err)
	}
}

// TestCacheConcurrentProcesses starts 16 processes probing one slow runtime
// with a cold cache at once: the lock lets exactly one of them run it, all
// get its answer, and one complete cache file results.
//
// The Prober's timeout, which also bounds the wait for the lock, is far
// longer than a loaded machine takes to run the runtime, so that no
// process gives up waiting and runs it too.
func TestCacheConcurrentProcesses(t *testing.T) {
	const (
		processes = 16
		timeout   = time.Minute
	)
	r := newFakeRuntime(t, "sleep 0.3\n"+featuresBody(t, runcLikeFeatures, ""))
	dir := t.TempDir()
	barrier := filepath.Join(t.TempDir(), "go")
	cmds := make([]*exec.Cmd, processes)
	outs := make([]*strings.Builder, processes)
	for i := range cmds {
		cmds[i] = helperCommand(t, r.path, dir, 1)
		cmds[i].Env = append(cmds[i].Env, helperBarrierEnv+"="+barrier, helperTimeoutEnv+"="+timeout.String())
		outs[i] = new(strings.Builder)
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, barrier, nil)
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, outs[i])
		}
		results := decodeResults(t, outs[i].String())
		if len(results) != 1 {
			t.Fatalf("process %d printed %q", i, outs[i])
		}
		assertFeatures(t, results[0], runcLike(r.path))
	}
	assertRuns(t, r, 1)
	assertCacheFile(t, dir, r, runcLike(r.path))
}

func TestDefaultCacheDir(t *testing.T) {
	dir, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 && !unshare.IsRootless() {
		if dir != "/run/containers/capgen" {
			t.Errorf("DefaultCacheDir() = %q for root; want /run/containers/capgen", dir)
		}
		return
	}
	if !strings.HasSuffix(dir, "/containers/capgen") || !filepath.IsAbs(dir) {
		t.Errorf("DefaultCacheDir() = %q; want <runtime dir>/containers/capgen", dir)
	}
}

var cacheSamples = []struct {
	key cacheKey
	f   plugin.Features
}{
	{cacheKey{"/usr/bin/runc", "", binaryID{Dev: 65024, Ino: 10706947, Size: 8752456, Mtime: 1706881985000000000, Ctime: 1795893028228285063}},
		plugin.Features{Runtime: "/usr/sbin/runc", Source: plugin.FromFeatures, Names: []string{"CAP_CHOWN", "CAP_KILL"}, Version: "runc 1.1.5+ds1"}},
	{cacheKey{"/usr/bin/crun", "", binaryID{Dev: 1, Ino: 2, Size: 3, Mtime: -4, Ctime: 5}},
		plugin.Features{Runtime: "/usr/bin/crun", Source: plugin.Assumed, Unknown: true, Reason: "\"features\" exited with status 1: unknown command features", Numerals: true, Version: "crun 1.8.1"}},
	{cacheKey{"/opt/a runtime/with \"quotes\"\n", "", binaryID{}},
		plugin.Features{Runtime: "/opt/ünïcode", Source: plugin.FromFeatures, Names: []string{}}},
	{cacheKey{"/r", "", binaryID{Dev: 1<<64 - 1, Ino: 1<<64 - 1, Size: 1<<63 - 1, Mtime: 1<<63 - 1, Ctime: 1<<63 - 1}},
		plugin.Features{Runtime: "/r", Source: plugin.FromFeatures, Names: []string{"", "with space", "new\nline", `"quoted"`, "\x00"}, AllCaps: true}},
	// runsc 20221219 as Docker runs it, after a trial that bisected.
	{cacheKey{"/usr/bin/runsc", "--network=none\x00--platform=ptrace", binaryID{Dev: 7, Ino: 9, Size: 9, Mtime: 10, Ctime: 11}},
		plugin.Features{Runtime: "/usr/bin/runsc", Source: plugin.FromTrial, Names: []string{"CAP_CHOWN", "CAP_AUDIT_READ"},
			Tested: 0x1fffeffffff, Rejected: []string{"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}}},
	// runc v1.0.0-rc92 on a host without CAP_SYS_RESOURCE in its bounding set.
	{cacheKey{"/opt/runc-rc92", "", binaryID{Dev: 7, Ino: 8, Size: 9, Mtime: 10, Ctime: 11}},
		plugin.Features{Runtime: "/opt/runc-rc92", Source: plugin.FromTrial, Names: []string{"CAP_CHOWN", "CAP_AUDIT_READ"},
			Tested: 0x1fffeffffff, Rejected: []string{"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}}},
}

func TestCacheEncoding(t *testing.T) {
	for _, s := range cacheSamples {
		data := encodeCache(s.key, &s.f)
		key, f, err := decodeCache(data)
		if err != nil || key != s.key || !reflect.DeepEqual(*f, s.f) {
			t.Errorf("round trip of %+v %+v:\n%s\ngot %+v %+v, %v", s.key, s.f, data, key, f, err)
		}
		// Every proper prefix is a torn file and must be rejected.
		for n := range len(data) {
			if _, _, err := decodeCache(data[:n]); err == nil {
				t.Fatalf("decodeCache accepted the first %d bytes of\n%s", n, data)
			}
		}
	}
}

// FuzzDecodeCache checks that decodeCache never panics and accepts only
// files that describe a consistent probe answer and survive re-encoding.
func FuzzDecodeCache(f *testing.F) {
	for _, s := range cacheSamples {
		f.Add(encodeCache(s.key, &s.f))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		key, feat, err := decodeCache(data)
		if err != nil {
			return
		}
		if !consistent(feat) || !filepath.IsAbs(key.Path) || !filepath.IsAbs(feat.Runtime) {
			t.Fatalf("accepted an inconsistent answer %+v from %q", feat, data)
		}
		key2, feat2, err := decodeCache(encodeCache(key, feat))
		if err != nil || key2 != key || !reflect.DeepEqual(feat2, feat) {
			t.Fatalf("re-encoding %q changed it: %+v %+v, %v", data, key2, feat2, err)
		}
	})
}

// TestCacheConcurrentGoroutines probes one slow runtime from 16 goroutines
// of one Prober, with and without the disk cache: it runs once. The timeout
// is long, so that a loaded machine never turns the one run into a
// timeout, which is not cached and would make the others run it again.
func TestCacheConcurrentGoroutines(t *testing.T) {
	for _, disk := range []bool{true, false} {
		t.Run(map[bool]string{true: "disk", false: "memo only"}[disk], func(t *testing.T) {
			r := newFakeRuntime(t, "sleep 0.2\n"+featuresBody(t, runcLikeFeatures, ""))
			p := &Prober{CacheDir: t.TempDir(), DisableDiskCache: !disk, Timeout: time.Minute}
			results := make([]*plugin.Features, 16)
			var wg sync.WaitGroup
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], _ = p.Probe(context.Background(), r.path)
				}()
			}
			wg.Wait()
			for _, f := range results {
				assertFeatures(t, f, runcLike(r.path))
			}
			assertRuns(t, r, 1)
		})
	}
}

// assertHelperProbes has a helper process (started through wrapper, if
// any) probe r n times with the cache in dir, and checks that every answer
// is r's runc-like features.
func assertHelperProbes(t *testing.T, r *fakeRuntime, dir string, n int, wrapper ...string) {
	t.Helper()
	results := helperResults(t, helperCommand(t, r.path, dir, n, wrapper...))
	if len(results) != n {
		t.Fatalf("helper printed %d results, want %d", len(results), n)
	}
	for _, f := range results {
		assertFeatures(t, f, runcLike(r.path))
	}
}

func TestCacheDirFor(t *testing.T) {
	env := func(vars ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(vars); i += 2 {
				if vars[i] == k {
					return vars[i+1]
				}
			}
			return ""
		}
	}
	const identity = "         0          0 4294967295\n"
	const rootless = "         0       1001          1\n         1     100000      65536\n"
	for _, tc := range []struct {
		name   string
		getenv func(string) string
		euid   int
		uidMap string
		want   string
	}{
		{"root", env(), 0, identity, "/run/containers/capgen"},
		{"root, no uid_map", env(), 0, "", "/run/containers/capgen"},
		{"user", env("XDG_RUNTIME_DIR", "/run/user/1001"), 1001, identity, "/run/user/1001/containers/capgen"},
		{"rootless engine, Podman's environment", env("_CONTAINERS_ROOTLESS_UID", "1001", "XDG_RUNTIME_DIR", "/x"), 0, rootless, "/x/containers/capgen"},
		{"rootless hook, XDG_RUNTIME_DIR only", env("XDG_RUNTIME_DIR", "/run/user/1001"), 0, rootless, "/run/user/1001/containers/capgen"},
		{"uid 5 of the namespace", env("XDG_RUNTIME_DIR", "/y"), 5, rootless, "/y/containers/capgen"},
	} {
		got, err := cacheDirFor(tc.getenv, tc.euid, []byte(tc.uidMap))
		if err != nil || got != tc.want {
			t.Errorf("%s: cacheDirFor = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	// Inside the namespace with no environment: /run/user/1001 would be
	// the directory; here it does not exist or is not ours, so it is an
	// error, not root's directory.
	if got, err := cacheDirFor(env(), 0, []byte(rootless)); err == nil && got == rootCacheDir {
		t.Errorf("rootless hook with no environment: %q, the directory of the real root", got)
	}
	if _, err := cacheDirFor(env("_CONTAINERS_ROOTLESS_UID", "-1"), 0, nil); err == nil {
		t.Error("_CONTAINERS_ROOTLESS_UID=-1: no error")
	}
}
