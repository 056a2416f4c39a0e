package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
)

// requireVar makes a missing end-to-end prerequisite a failure instead of a
// skip; .ci/run sets it.
const requireVar = "CAPGEN_REQUIRE_E2E"

// runTimeout bounds one container run; a healthy one takes a fraction of a
// second.
const runTimeout = 20 * time.Second

// unavailable skips t because the machine cannot run the end-to-end tests,
// or fails it when CAPGEN_REQUIRE_E2E=1.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireVar) == "1" {
		t.Fatalf("end-to-end test cannot run: %s (%s=1 requires it)", msg, requireVar)
	}
	t.Skipf("skipping end-to-end test: %s (set %s=1 to make this a failure)", msg, requireVar)
}

// host is what the tests know of the machine the containers run on.
type host struct {
	busybox string       // a statically linked busybox
	last    capnames.Cap // the kernel's last capability
	parent  plugin.Sets  // this process's capability sets, which the runtimes inherit
	kernel  capnames.Set // 0..last
	hybrid  bool         // /sys/fs/cgroup/unified is a mount point (cgroup v1+v2)
	unshare string       // unshare(1), for crun on a hybrid host
	env     plugin.Env   // this machine for plugin.Apply
}

// requireHost returns the machine's description, or skips t (fails it with
// CAPGEN_REQUIRE_E2E=1) when it cannot run containers: not root, or no
// static busybox.
func requireHost(t *testing.T) host {
	t.Helper()
	if euid := os.Geteuid(); euid != 0 {
		unavailable(t, "not running as root (euid %d): runc and crun need root to create containers", euid)
	}
	h := host{busybox: requireBusybox(t)}
	var err error
	if h.last, err = capnames.KernelLast(); err != nil {
		t.Fatal(err)
	}
	h.kernel = capnames.UpTo(h.last)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if h.parent, err = parseStatus(string(status)); err != nil {
		t.Fatalf("/proc/self/status: %v", err)
	}
	bounding, err := capnames.Bounding()
	if err != nil {
		t.Fatal(err)
	}
	if bounding != h.parent.Bounding {
		t.Fatalf("capnames.Bounding() = %s, /proc/self/status CapBnd = %s", bounding.Bitmap(), h.parent.Bounding.Bitmap())
	}
	if h.env, err = plugin.HostEnv(); err != nil {
		t.Fatal(err)
	}
	if h.hybrid, err = isMountPoint("/sys/fs/cgroup/unified"); err != nil {
		t.Fatal(err)
	}
	return h
}

// requireBusybox returns the path of a statically linked busybox, which
// runs inside a root file system holding nothing else.
func requireBusybox(t *testing.T) string {
	t.Helper()
	candidates := []string{"/bin/busybox", "/usr/bin/busybox"}
	if p, err := exec.LookPath("busybox"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	for _, p := range candidates {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		f.Close()
		if static {
			return p
		}
	}
	unavailable(t, "no statically linked busybox in %s (Debian: apt-get install busybox-static)", strings.Join(candidates, ", "))
	return ""
}

// isMountPoint reports whether dir is the mount point of a mount of this
// process's mount namespace.
func isMountPoint(dir string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && fields[4] == dir {
			return true, nil
		}
	}
	return false, sc.Err()
}

// ociRuntime is an OCI runtime under test.
type ociRuntime struct {
	name string // "runc-1.1.5", "runc-v1.0.0-rc92", "crun-1.8.1": for logs and test names
	kind string // "runc", "crun" or "runsc": how it reads entries and how it is run
	path string
	// globals are the global options it is run with: runsc's
	// --network=none, without which it starts nothing on this host.
	globals []string
	// names are the capabilities whose canonical names it applies.
	names capnames.Set
	// numerals is set for a runtime that maps decimal entries to
	// capability numbers: crun, through libcap's cap_from_name, and the
	// proposal's patched runc.
	numerals bool
	// allCaps is set for a runtime that expands ALL_CAPS: the proposal's
	// patched runc (docs/proposal.md).
	allCaps bool
	host    host
}

// requireRuntime returns the named runtime of the machine (Debian's runc
// 1.1.5 or crun 1.8.1, which name every capability of Linux 5.9), or skips
// t (fails it with CAPGEN_REQUIRE_E2E=1) when it is not installed.
func requireRuntime(t *testing.T, h host, kind string) ociRuntime {
	t.Helper()
	candidates := []string{"/usr/sbin/" + kind, "/usr/bin/" + kind}
	if p, err := exec.LookPath(kind); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return newRuntime(t, h, kind+"-"+installedVersion(p), kind, p, capnames.CAP_CHECKPOINT_RESTORE)
		}
	}
	unavailable(t, "OCI runtime %s not found in %s (Debian: apt-get install %s)", kind, strings.Join(candidates, ", "), kind)
	return ociRuntime{}
}

// newRuntime describes the runtime at path, of kind "runc" or "crun", which
// applies the canonical names up to lastName and, for crun (libcap's
// cap_from_name), numerals.
func newRuntime(t *testing.T, h host, name, kind, path string, lastName capnames.Cap) ociRuntime {
	t.Helper()
	r := ociRuntime{name: name, kind: kind, path: path, names: capnames.UpTo(lastName), numerals: kind == "crun", host: h}
	if r.needsHybridWorkaround() {
		u, err := exec.LookPath("unshare")
		if err != nil {
			unavailable(t, "crun on a hybrid cgroup host needs unshare(1): %v", err)
		}
		r.host.unshare = u
	}
	return r
}

// installedVersion is the version a packaged runtime prints ("1.1.5+ds1"),
// or "installed".
func installedVersion(path string) string {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "installed"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	if fields := strings.Fields(first); len(fields) == 3 && fields[1] == "version" {
		return fields[2]
	}
	return "installed"
}

// needsHybridWorkaround reports whether r is crun on a host with hybrid
// cgroups, which crun refuses ("cgroups in hybrid mode not supported"): it
// then runs in a private mount namespace without /sys/fs/cgroup/unified and
// with --cgroup-manager=disabled.
func (r ociRuntime) needsHybridWorkaround() bool { return r.kind == "crun" && r.host.hybrid }

// run runs the container of bundle to completion and returns what it
// printed on stdout. The container is deleted when t ends if the runtime
// left it behind.
func (r ociRuntime) run(t *testing.T, bundle string) string {
	t.Helper()
	stdout, stderr, err := r.tryRun(t, bundle)
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if stderr != "" {
		t.Logf("%s run: stderr: %s", r.name, strings.TrimSpace(stderr))
	}
	// runc 1.0 and later warn about the entries they drop; crun drops
	// them silently, which reads (kernel_test.go) accounts for.
	if strings.Contains(stderr, "ignoring unknown or unavailable capabilities") {
		t.Errorf("%s dropped capability entries: %s", r.name, strings.TrimSpace(stderr))
	}
	return stdout
}

// tryRun runs the container of bundle and returns its stdout, the
// runtime's stderr and the error, if it failed. The container is deleted
// when t ends if the runtime left it behind.
func (r ociRuntime) tryRun(t *testing.T, bundle string) (stdout, stderr string, err error) {
	t.Helper()
	id := containerID(t)
	t.Cleanup(func() { r.deleteIfLeft(t, id) })
	args := slices.Concat([]string{r.path}, r.globals, []string{"run", "--bundle", bundle, id})
	if r.needsHybridWorkaround() {
		args = []string{r.host.unshare, "--mount", "--", "sh", "-c",
			`umount /sys/fs/cgroup/unified && exec "$@"`, "sh",
			r.path, "--cgroup-manager=disabled", "run", "--bundle", bundle, id}
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), errOut.String(), fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), nil
}

// deleteIfLeft force-deletes container id when the runtime still has it
// (a failed or timed-out run).
func (r ociRuntime) deleteIfLeft(t *testing.T, id string) {
	global := slices.Clone(r.globals)
	if r.needsHybridWorkaround() {
		global = append(global, "--cgroup-manager=disabled")
	}
	if exec.Command(r.path, append(global, "state", id)...).Run() != nil {
		return // gone, as a completed run leaves it
	}
	out, err := exec.Command(r.path, append(global, "delete", "-f", id)...).CombinedOutput()
	if err != nil {
		t.Errorf("cleaning up: %s delete -f %s: %v: %s", r.name, id, err, out)
	}
}

// containerID returns a fresh container ID.
func containerID(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "capgen-e2e-" + hex.EncodeToString(b[:])
}

// statusFields maps the capability lines of /proc/PID/status to the sets.
var statusFields = map[string]func(*plugin.Sets) *capnames.Set{
	"CapInh": func(s *plugin.Sets) *capnames.Set { return &s.Inheritable },
	"CapPrm": func(s *plugin.Sets) *capnames.Set { return &s.Permitted },
	"CapEff": func(s *plugin.Sets) *capnames.Set { return &s.Effective },
	"CapBnd": func(s *plugin.Sets) *capnames.Set { return &s.Bounding },
	"CapAmb": func(s *plugin.Sets) *capnames.Set { return &s.Ambient },
}

// parseStatus reads the five capability sets from the text of
// /proc/PID/status (or its Cap* lines). Each must appear exactly once, but
// for CapAmb, which gVisor's (runsc 20221219) lacks: it then reads as empty.
func parseStatus(text string) (plugin.Sets, error) {
	var sets plugin.Sets
	seen := map[string]bool{}
	for line := range strings.Lines(text) {
		key, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		field, known := statusFields[key]
		if !ok || !known {
			continue
		}
		if seen[key] {
			return plugin.Sets{}, fmt.Errorf("%s appears twice", key)
		}
		seen[key] = true
		set, err := capnames.ParseBitmap(strings.TrimSpace(value))
		if err != nil {
			return plugin.Sets{}, fmt.Errorf("%s: %w", key, err)
		}
		*field(&sets) = set
	}
	for key := range statusFields {
		if !seen[key] && key != "CapAmb" {
			return plugin.Sets{}, fmt.Errorf("no %s line in %q", key, text)
		}
	}
	return sets, nil
}

// formatSets prints sets as the kernel does in /proc/PID/status.
func formatSets(s plugin.Sets) string {
	return fmt.Sprintf("CapBnd %s CapEff %s CapPrm %s CapInh %s CapAmb %s",
		s.Bounding.Bitmap(), s.Effective.Bitmap(), s.Permitted.Bitmap(), s.Inheritable.Bitmap(), s.Ambient.Bitmap())
}

// diffSets describes how got differs from want, list by list, naming the
// capabilities; "" when they are equal.
func diffSets(got, want plugin.Sets) string {
	var b strings.Builder
	for _, l := range []struct {
		name      string
		got, want capnames.Set
	}{
		{"CapBnd", got.Bounding, want.Bounding},
		{"CapEff", got.Effective, want.Effective},
		{"CapPrm", got.Permitted, want.Permitted},
		{"CapInh", got.Inheritable, want.Inheritable},
		{"CapAmb", got.Ambient, want.Ambient},
	} {
		if l.got == l.want {
			continue
		}
		fmt.Fprintf(&b, "\n\t%s = %s, want %s", l.name, l.got.Bitmap(), l.want.Bitmap())
		if extra := l.got.Minus(l.want); extra != 0 {
			fmt.Fprintf(&b, "; extra %v", extra.Strings())
		}
		if missing := l.want.Minus(l.got); missing != 0 {
			fmt.Fprintf(&b, "; missing %v", missing.Strings())
		}
	}
	return b.String()
}

// writeFile writes data to path, failing t on error.
func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}
