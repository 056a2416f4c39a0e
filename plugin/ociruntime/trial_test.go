package ociruntime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/plugin"
)

func TestNamesEntry(t *testing.T) {
	for _, tc := range []struct {
		stderr, entry string
		want          bool
	}{
		// runc v1.0.0-rc92's log line, as its stderr carries it.
		{`level=error msg="container_linux.go:370: starting container process caused: unknown capability \"CAP_PERFMON\""`, "CAP_PERFMON", true},
		{`unknown capability "38"`, "38", true},
		{`unknown capability "38"`, "3", false},
		{`unknown capability "CAP_SYS_ADMIN"`, "CAP_SYS", false},
		{`cgroups in hybrid mode not supported`, "CAP_CHOWN", false},
		{`"CAP_CHOWN`, "CAP_CHOWN", false},
	} {
		if got := namesEntry(tc.stderr, tc.entry); got != tc.want {
			t.Errorf("namesEntry(%q, %q) = %t, want %t", tc.stderr, tc.entry, got, tc.want)
		}
	}
}

// trialRuntime writes a fake runtime without a features command whose
// create runs body; it logs every command. It models no release: the real
// ones are tried in plugin/e2e.
func trialRuntime(t *testing.T, body string) (path, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "log")
	path = filepath.Join(dir, "runtime")
	script := "#!/bin/sh\necho \"$*\" >> '" + log + "'\n[ \"$1\" = --root ] && shift 2\n" +
		"case \"$1\" in\ncreate) " + body + " ;;\ndelete) exit 0 ;;\nesac\necho \"unknown command $1\" >&2\nexit 1\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, log
}

// requireTrial skips t where this process cannot try runtimes.
func requireTrial(t *testing.T) {
	t.Helper()
	if _, err := trialScope(); err != nil {
		t.Skipf("no trial here: %v", err)
	}
}

// A create that hangs: the trial gives up at the command's timeout, force-
// deletes the container, leaves nothing in TMPDIR, and is not cached.
func TestTrialHangingCreate(t *testing.T) {
	requireTrial(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	path, log := trialRuntime(t, "sleep 30")
	p := &Prober{CacheDir: t.TempDir(), Timeout: 200 * time.Millisecond}
	start := time.Now()
	f := mustProbe(t, p, path)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("probe took %v", took)
	}
	if !f.Unknown || f.Source != plugin.Assumed || !strings.Contains(f.Reason, "trial:") || !strings.Contains(f.Reason, "deadline exceeded") {
		t.Errorf("features %+v; want assumed, the trial timed out", f)
	}
	data, _ := os.ReadFile(log)
	if !strings.Contains(string(data), "delete --force capgen-trial-") {
		t.Errorf("the trial container was not force-deleted; commands:\n%s", data)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("left in TMPDIR: %v", left)
	}
	creates := strings.Count(string(data), " create ")
	mustProbe(t, &Prober{CacheDir: p.CacheDir, Timeout: 200 * time.Millisecond}, path)
	if data, _ = os.ReadFile(log); strings.Count(string(data), " create ") == creates {
		t.Error("a timed-out trial was cached")
	}
}

// A create that succeeds but a state that says nothing usable: the trial
// fails with the reason, and the answer is assumed.
func TestTrialBadState(t *testing.T) {
	requireTrial(t)
	path, _ := trialRuntime(t, "exit 0")
	f := mustProbe(t, &Prober{CacheDir: t.TempDir()}, path)
	if !f.Unknown || !strings.Contains(f.Reason, `"state"`) {
		t.Errorf("features %+v; want assumed, naming the state command", f)
	}
}
