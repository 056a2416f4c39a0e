package ociruntime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/plugin"
)

// TestProbeMisbehavingRuntime runs fake runtimes that fail in every way
// the probe must survive: each answer is Unknown with a reason naming the
// failure, never an error, and is cached like any other answer.
func TestProbeMisbehavingRuntime(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       plugin.Features
		exact      bool // plugin.Reason must equal want.Reason, else start with it
	}{{
		name: "crash",
		body: `kill -SEGV $$`,
		want: plugin.Features{Reason: `"features" killed by signal SIGSEGV`}, exact: true,
	}, {
		name: "10 MiB of output",
		body: `[ "$1" = features ] && head -c 10485760 /dev/zero | tr '\0' '['`,
		want: plugin.Features{Reason: `"features" output exceeds 1 MiB`}, exact: true,
	}, {
		name: "invalid JSON",
		body: `[ "$1" = features ] && echo '{"linux": {"capabilities": ["CAP_CHOWN",'`,
		want: plugin.Features{Reason: `"features" printed invalid JSON: `},
	}, {
		name: "trailing garbage",
		body: `[ "$1" = features ] && echo '{"linux": {"capabilities": []}} {}'`,
		want: plugin.Features{Reason: `"features" printed invalid JSON: `},
	}, {
		name: "empty output",
		body: `exit 0`,
		want: plugin.Features{Reason: `"features" printed invalid JSON: `},
	}, {
		name: "no features command, crun's --version",
		body: `[ "$1" = --version ] && printf 'crun version 1.8.1\ncommit: f8a0\nspec: 1.0.0\n+SYSTEMD +CAP +SECCOMP +YAJL\n' && exit 0
echo "unknown command $1" >&2; exit 1`,
		want:  plugin.Features{Reason: `"features" exited with status 1: unknown command features`, Numerals: true, Version: "crun 1.8.1"},
		exact: true,
	}, {
		name: "no features command, runc's --version",
		body: `[ "$1" = --version ] && printf 'runc version 1.0.0\nspec: 1.0.2\n' && exit 0
echo "flag provided but not defined" >&2; exit 2`,
		want:  plugin.Features{Reason: `"features" exited with status 2: flag provided but not defined`, Version: "runc 1.0.0"},
		exact: true,
	}, {
		name: "no features command, --version crashes too",
		body: `echo "Usage: runtime [OPTIONS]" >&2; [ "$1" = --version ] && kill -SEGV $$; exit 64`,
		want: plugin.Features{Reason: `"features" exited with status 64: Usage: runtime [OPTIONS]`}, exact: true,
	}, {
		name: "terminal escapes in stderr",
		body: `printf '\033[2J\033]0;pwned\007boom\n' >&2; exit 1`,
		want: plugin.Features{Reason: `"features" exited with status 1: ?[2J?]0;pwned?boom`}, exact: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFakeRuntime(t, tc.body)
			dir := t.TempDir()
			got := mustProbe(t, &Prober{CacheDir: dir, DisableTrial: true}, r.path)
			if !got.Unknown || got.Names != nil || got.Runtime != r.path {
				t.Fatalf("got %+v; want Unknown with no names for %s", got, r.path)
			}
			if tc.exact && got.Reason != tc.want.Reason || !strings.HasPrefix(got.Reason, tc.want.Reason) {
				t.Errorf("reason %q; want %q", got.Reason, tc.want.Reason)
			}
			if got.Numerals != tc.want.Numerals || got.Version != tc.want.Version || got.AllCaps {
				t.Errorf("numerals %t, version %q, all caps %t; want %t, %q, false", got.Numerals, got.Version, got.AllCaps, tc.want.Numerals, tc.want.Version)
			}
			// Cached, keyed on the binary: a fresh Prober runs nothing.
			runs := r.runs(t, "features")
			assertFeatures(t, mustProbe(t, &Prober{CacheDir: dir, DisableTrial: true}, r.path), got)
			if n := r.runs(t, "features"); n != runs {
				t.Errorf("a cached Unknown answer ran the runtime again (%d runs, then %d)", runs, n)
			}
		})
	}
}

// TestProbeHang runs a runtime that hangs with a child holding its stdout:
// the probe returns Unknown once the timeout expires, without waiting for
// the runtime or its child, kills the whole process group, does not try
// --version, and does not cache the timeout.
//
// Only bounds that load cannot break are timed: a call returns no sooner
// than the timeout (else it was cached) and long before the hanging
// processes would have ended by themselves (else it waited for them).
func TestProbeHang(t *testing.T) {
	const (
		timeout = 500 * time.Millisecond
		hang    = time.Minute // how long the runtime and its child sleep
		bound   = hang / 2    // a call that waited for them takes longer
		calls   = 3
	)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	r := newFakeRuntime(t, `sleep 60 &
echo $! > '`+pidFile+`'
sleep 60`)
	dir := t.TempDir()
	want := &plugin.Features{Runtime: r.path, Source: plugin.Assumed, Unknown: true, Reason: `"features" timed out after 500ms`}
	checked := 0
	fastest := hang
	for i := range calls {
		os.Remove(pidFile)
		p := &Prober{CacheDir: dir, Timeout: timeout, DisableTrial: true}
		start := time.Now()
		got := mustProbe(t, p, r.path)
		elapsed := time.Since(start)
		assertFeatures(t, got, want)
		if elapsed < timeout || elapsed > bound { // faster: it was cached
			t.Errorf("call %d: hanging runtime returned after %v; want between %v and %v", i, elapsed, timeout, bound)
		}
		t.Logf("call %d returned after %v with a %v timeout", i, elapsed, timeout)
		fastest = min(fastest, elapsed)
		if _, err := os.Stat(pidFile); err == nil { // else killed before it forked
			assertProcessGone(t, pidFile)
			checked++
		}
	}
	// The probe must not wait for the hung runtime or its child beyond the
	// timeout: within 100 ms of it. Load on a shared 2-core machine can
	// delay any one call, so the bound holds for the fastest of three.
	if fastest > timeout+100*time.Millisecond {
		t.Errorf("fastest of %d calls returned after %v; want within %v of the %v timeout", calls, fastest, 100*time.Millisecond, timeout)
	}
	if checked == 0 {
		t.Error("the runtime never got to start its child")
	}
	if n := r.runs(t, "--version"); n != 0 {
		t.Errorf("ran --version %d times after a timeout", n)
	}
	// Not cached: a hang may be transient, so every call above ran the
	// runtime again, as its duration shows; nor memoised, as the second
	// call of one Prober shows. (Counting runs would be fragile here: on
	// a loaded machine the script may be killed before it counts.)
	if files, _ := filepath.Glob(filepath.Join(dir, "*.cache")); len(files) != 0 {
		t.Errorf("a timeout was written to the cache: %v", files)
	}
	p := &Prober{CacheDir: dir, Timeout: timeout, DisableTrial: true}
	mustProbe(t, p, r.path)
	start := time.Now()
	assertFeatures(t, mustProbe(t, p, r.path), want)
	if elapsed := time.Since(start); elapsed < timeout {
		t.Errorf("second call returned after %v: the timeout was memoised", elapsed)
	}
}

// assertProcessGone checks that the process whose pid is in pidFile has
// exited (or is a zombie waiting for a reaper that is not us).
func assertProcessGone(t *testing.T, pidFile string) {
	t.Helper()
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	// SIGKILL is already sent; a loaded machine may take a while to tear
	// the process down, so the deadline is generous.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || syscall.Kill(pid, 0) != nil {
			return
		}
		// The state follows the parenthesised command name.
		if _, after, _ := strings.Cut(string(stat), ") "); strings.HasPrefix(after, "Z") {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the runtime's child %d survived the timeout: %s", pid, stat)
		}
	}
}

// TestProbeCancelledWhileRunning cancels the caller's context while the
// runtime hangs: that is the caller's error, not an Unknown runtime, and
// it comes without waiting for the Prober's timeout or the runtime.
func TestProbeCancelledWhileRunning(t *testing.T) {
	const timeout = time.Minute // the runtime sleeps as long
	r := newFakeRuntime(t, `sleep 60`)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	f, err := (&Prober{CacheDir: t.TempDir(), Timeout: timeout, DisableTrial: true}).Probe(ctx, r.path)
	if !errors.Is(err, context.DeadlineExceeded) || f != nil {
		t.Fatalf("Probe = %+v, %v; want the context's error", f, err)
	}
	if elapsed := time.Since(start); elapsed > timeout/2 {
		t.Errorf("cancellation took %v: it waited for the runtime", elapsed)
	}
}

// TestProbeReplacedWhileRunning replaces the runtime while its features
// command runs: the answer is returned but not cached, since it may be the
// old binary's.
func TestProbeReplacedWhileRunning(t *testing.T) {
	r := newFakeRuntime(t, "")
	next := featuresBody(t, runcLikeFeatures, "")
	r.write(t, `if [ "$1" = features ]; then
cp "$0.next" "$0.tmp" && mv "$0.tmp" "$0"
echo '{"linux":{"capabilities":["CAP_OLD"]}}'
fi`)
	script := "#!/bin/sh\necho \"$1\" >> '" + r.counter + "'\n" + next + "\n"
	if err := os.WriteFile(r.path+".next", []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &Prober{CacheDir: dir, DisableTrial: true}
	first := mustProbe(t, p, r.path)
	if first.Unknown || first.Names[0] != "CAP_OLD" {
		t.Fatalf("first probe %+v; want the old binary's answer", first)
	}
	assertFeatures(t, mustProbe(t, p, r.path), runcLike(r.path))
	assertFeatures(t, mustProbe(t, &Prober{CacheDir: dir, DisableTrial: true}, r.path), runcLike(r.path))
	if n := r.runs(t, "features"); n != 2 {
		t.Errorf("runtime ran %d times; want 2 (the old answer is not cached, the new one is)", n)
	}
}

// TestProbeKilled runs a runtime killed by SIGKILL, as the OOM killer
// would: Unknown, and not cached, since the next run may well succeed.
func TestProbeKilled(t *testing.T) {
	r := newFakeRuntime(t, `kill -KILL $$`)
	dir := t.TempDir()
	want := &plugin.Features{Runtime: r.path, Source: plugin.Assumed, Unknown: true, Reason: `"features" killed by signal SIGKILL`}
	p := &Prober{CacheDir: dir, DisableTrial: true}
	assertFeatures(t, mustProbe(t, p, r.path), want)
	assertFeatures(t, mustProbe(t, p, r.path), want)
	assertFeatures(t, mustProbe(t, &Prober{CacheDir: dir, DisableTrial: true}, r.path), want)
	if n := r.runs(t, "features"); n != 3 {
		t.Errorf("runtime ran %d times in three probes; SIGKILL must not be cached", n)
	}
}
