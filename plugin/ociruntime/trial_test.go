package ociruntime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
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

// TestSettle: a trial narrows down the entries that fail a create, whether
// the runtime's error names them or not, in few containers. The models are
// of runc v1.0.0-rc92, whose create fails with `unknown capability
// "CAP_PERFMON"` for the first entry it cannot map, and runsc 20221219,
// whose create fails for CAP_PERFMON, CAP_BPF or CAP_CHECKPOINT_RESTORE
// with "cannot read client sync file: waiting for sandbox to start: EOF"
// (the reason only in its debug log); both are run in plugin/e2e.
func TestSettle(t *testing.T) {
	names := capnames.UpTo(capnames.CAP_CHECKPOINT_RESTORE).Minus(capnames.SetOf(capnames.CAP_SYS_RESOURCE)).Strings()
	unknown := capnames.SetOf(capnames.CAP_PERFMON, capnames.CAP_BPF, capnames.CAP_CHECKPOINT_RESTORE)
	for _, tc := range []struct {
		name    string
		message func(entry string) string // the create's stderr for an entry it cannot map
		max     int                       // containers at most
	}{
		{"runc-v1.0.0-rc92", func(e string) string {
			return `level=error msg="container_linux.go:370: unknown capability \"` + e + `\""`
		}, 4},
		{"runsc-20221219", func(string) string {
			return "creating container: cannot create sandbox: cannot read client sync file: waiting for sandbox to start: EOF"
		}, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			containers := 0
			create := func(_ context.Context, entries []string) (capnames.Set, error) {
				containers++
				var got capnames.Set
				for _, e := range entries {
					c, _ := capnames.Parse(e)
					if unknown.Has(c) {
						return 0, &createFailure{stderr: tc.message(e), err: errors.New("exit status 1")}
					}
					got.Add(c)
				}
				return got, nil
			}
			applied, rejected, err := settle(context.Background(), create, names, false)
			if err != nil {
				t.Fatal(err)
			}
			want := capnames.UpTo(capnames.CAP_AUDIT_READ).Minus(capnames.SetOf(capnames.CAP_SYS_RESOURCE))
			if applied != want || !slices.Equal(rejected, unknown.Strings()) {
				t.Errorf("applied %v, rejected %q; want %v, %q", applied.Strings(), rejected, want.Strings(), unknown.Strings())
			}
			if containers > tc.max {
				t.Errorf("%d containers, want at most %d", containers, tc.max)
			}
			t.Logf("%d containers", containers)
		})
	}
}

// TestSettleNotTheEntries: a failure that is not a failed create (a
// timeout, an unreadable state) ends the trial instead of rejecting
// entries.
func TestSettleNotTheEntries(t *testing.T) {
	for _, fail := range []error{
		&createFailure{err: context.DeadlineExceeded},
		errors.New(`"state" printed no container pid`),
	} {
		create := func(context.Context, []string) (capnames.Set, error) { return 0, fail }
		if _, rejected, err := settle(context.Background(), create, []string{"CAP_CHOWN", "CAP_KILL"}, false); err == nil {
			t.Errorf("%v: rejected %q, no error", fail, rejected)
		}
	}
}
