package ociruntime

// A trial learns what a runtime that reports no capabilities applies, by
// asking it. It creates a container whose process.capabilities hold one
// entry per capability the trial can observe, and reads the sets the kernel
// gave the container's init (CapBnd, CapEff, CapPrm in /proc/PID/status),
// which every tested runtime has applied by the time create returns: runc
// 1.0 and later and crun wait for start after setting capabilities. One
// round tries canonical names, one decimal numerals.
//
// A runtime that fails the create naming an entry (runc before 1.0.0-rc93:
// `unknown capability "CAP_PERFMON"`) has that entry taken out and the
// create tried again; one that ignores an entry (runc 1.0.2: "ignoring
// unknown or unavailable capabilities"; crun: silently) just does not show
// it applied. Either way the entry is not one to emit.
//
// The container is as small as a runtime accepts: its root is an empty
// directory with proc and dev mount points, /proc its one mount, mount and
// pid namespaces only, /proc/self/exe its argument (it never runs: the
// container is never started), stdio on /dev/null (the init holds its
// stdio until it is deleted, so a pipe would never end). Its id
// (capgen-trial-...), the runtime's state directory (--root) and the bundle
// are in a private temporary directory, removed afterwards; the container
// is force-deleted whatever happened, and a trial killed before it could
// clean up is cleaned up by the next (sweep.go).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultTrialTimeout bounds a whole trial of a [Prober] whose TrialTimeout
// is zero: every create, state and delete it runs. A trial takes under a
// second (runc v1.0.0-rc92: five containers, 0.7 s); the bound stays well
// inside the 10 s a precreate hook is given (hooks.d/99-capgen.json), so
// that the engine never kills the hook in the middle of one.
const DefaultTrialTimeout = 5 * time.Second

// errTrialUnavailable is wrapped by the reasons a trial cannot run at all.
var errTrialUnavailable = errors.New("no trial possible")

// errTrialUnprivileged is wrapped, with errTrialUnavailable, when this
// process lacks the privilege to create containers. What it then assumes
// is not cached: a process that has the privilege (root, or a rootless
// engine's hook or shim in its user namespace) reads the same cache and
// must learn for itself.
var errTrialUnprivileged = fmt.Errorf("%w: creating a container needs CAP_SYS_ADMIN", errTrialUnavailable)

// trialOutcome is what a trial learned, or why it learned nothing.
type trialOutcome struct {
	names    []string     // canonical names the runtime applied
	rejected []string     // entries that failed the create
	numerals bool         // every tested numeral applied
	tested   capnames.Set // what the trial could observe
	// failure, when set, says why nothing was learned; transient
	// failures (a timeout) are not cached.
	failure   string
	transient bool
}

// trialRun is one trial in progress: the runtime, its temporary directory
// and the ids of its containers. Its deadline is in the context its
// methods are given.
type trialRun struct {
	p       *Prober
	runtime string
	dir     string
	n       int // containers created so far, for their ids
	id      string
}

// trial learns which entries the runtime at path applies.
func (p *Prober) trial(ctx context.Context, path string) trialOutcome {
	tested, err := trialScope()
	if err != nil {
		return trialOutcome{failure: err.Error(), transient: errors.Is(err, errTrialUnprivileged)}
	}
	ctx, cancel := context.WithTimeout(ctx, p.trialTimeout())
	defer cancel()
	p.sweepTrials(ctx, os.TempDir())
	dir, err := os.MkdirTemp("", trialDirPrefix)
	if err != nil {
		return trialOutcome{failure: "no temporary directory: " + err.Error(), transient: true}
	}
	defer os.RemoveAll(dir)
	if err := writeOwner(dir, path); err != nil {
		return trialOutcome{failure: "recording the trial's owner: " + err.Error(), transient: true}
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return trialOutcome{failure: err.Error(), transient: true}
	}
	t := &trialRun{p: p, runtime: path, dir: dir, id: "capgen-trial-" + hex.EncodeToString(suffix[:])}
	out := trialOutcome{tested: tested, names: []string{}}

	table := capnames.Default()
	var names []string
	for _, c := range tested.Caps() {
		if row, ok := table.Lookup(c); ok {
			names = append(names, row.Name)
		}
	}
	applied, rejected, err := t.round(ctx, names, true)
	if err != nil {
		return t.failed(ctx, err)
	}
	for _, name := range names {
		if c, _ := table.Parse(name); applied.Has(c) {
			out.names = append(out.names, name)
		}
	}
	out.rejected = rejected

	numerals := make([]string, 0, tested.Len())
	for _, c := range tested.Caps() {
		numerals = append(numerals, strconv.Itoa(int(c)))
	}
	// A runtime that fails a numeral takes none: one rejection ends the
	// round.
	applied, rejected, err = t.round(ctx, numerals, false)
	if err != nil {
		return t.failed(ctx, err)
	}
	out.numerals = len(rejected) == 0 && applied == tested
	return out
}

// failed turns a round's error into the outcome of the whole trial.
func (t *trialRun) failed(ctx context.Context, err error) trialOutcome {
	switch {
	case ctx.Err() != nil:
		return trialOutcome{failure: "timed out after " + t.p.trialTimeout().String(), transient: true}
	case errors.Is(err, context.DeadlineExceeded):
		// One command outlived its own timeout: may be a loaded machine.
		return trialOutcome{failure: err.Error(), transient: true}
	}
	return trialOutcome{failure: err.Error()}
}

// round creates containers granting entries until one is created, taking
// out each entry a create fails naming (when retry is set; else the first
// such entry ends the round), and returns the capabilities the container's
// init holds in its bounding, effective and permitted sets, and the entries
// taken out.
func (t *trialRun) round(ctx context.Context, entries []string, retry bool) (applied capnames.Set, rejected []string, err error) {
	for {
		sets, stderr, err := t.create(ctx, entries)
		if err == nil {
			asked := capnames.Set(0)
			for _, e := range entries {
				c, _ := capnames.Parse(e)
				asked.Add(c)
			}
			got := sets.Bounding.Intersect(sets.Effective).Intersect(sets.Permitted)
			if extra := sets.Bounding.Union(sets.Effective).Union(sets.Permitted).Minus(asked); extra != 0 {
				return 0, nil, fmt.Errorf("the trial container holds capabilities it was not given: %s", extra.Bitmap())
			}
			return got, rejected, nil
		}
		i := slices.IndexFunc(entries, func(e string) bool { return namesEntry(stderr, e) })
		if i < 0 || ctx.Err() != nil {
			return 0, nil, err
		}
		rejected = append(rejected, entries[i])
		if !retry {
			return 0, rejected, nil
		}
		entries = slices.Delete(slices.Clone(entries), i, i+1)
	}
}

// namesEntry reports whether a runtime's error text quotes entry: as
// "CAP_PERFMON", or escaped inside a quoted log message as \"CAP_PERFMON\".
func namesEntry(stderr, entry string) bool {
	for rest := stderr; ; {
		i := strings.Index(rest, entry)
		if i < 0 {
			return false
		}
		before, after := rest[:i], rest[i+len(entry):]
		if strings.HasSuffix(before, `"`) && (strings.HasPrefix(after, `"`) || strings.HasPrefix(after, `\"`)) {
			return true
		}
		rest = after
	}
}

// create creates a trial container granting entries, reads its init's
// sets and deletes it. A create that fails returns its stderr.
func (t *trialRun) create(ctx context.Context, entries []string) (plugin.Sets, string, error) {
	t.n++
	id := t.id + "-" + strconv.Itoa(t.n)
	bundle, err := t.writeBundle(entries)
	if err != nil {
		return plugin.Sets{}, "", err
	}
	defer t.delete(ctx, id)
	stderr, err := t.runDetached(ctx, "create", "--bundle", bundle, id)
	if err != nil {
		return plugin.Sets{}, stderr, fmt.Errorf("%q failed: %w%s", "create", err, firstLineSuffix(stderr))
	}
	out := t.p.exec(ctx, t.runtime, t.global("state", id)...)
	if out.failure != "" {
		return plugin.Sets{}, "", fmt.Errorf("%q %s", "state", out.failure)
	}
	var state specs.State
	if err := json.Unmarshal(out.stdout, &state); err != nil || state.Pid <= 0 {
		return plugin.Sets{}, "", fmt.Errorf("%q printed no container pid", "state")
	}
	sets, err := processSets(state.Pid)
	if err != nil {
		return plugin.Sets{}, "", err
	}
	return sets, "", nil
}

// global prefixes args with the runtime's global flags: the trial's own
// state directory.
func (t *trialRun) global(args ...string) []string {
	return append([]string{"--root", filepath.Join(t.dir, "state")}, args...)
}

// delete force-deletes container id, with a deadline of its own so that it
// runs after a timeout too.
func (t *trialRun) delete(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.p.timeout())
	defer cancel()
	t.runDetached(ctx, "delete", "--force", id)
}

// writeBundle writes a new bundle for the trial's nth container and returns
// its directory. Each container has its own: runc writes /dev symlinks
// into a root whose /dev is not a mount, which the next create would trip
// over.
func (t *trialRun) writeBundle(entries []string) (string, error) {
	bundle := filepath.Join(t.dir, "bundle-"+strconv.Itoa(t.n))
	for _, d := range []string{"rootfs/proc", "rootfs/dev"} {
		if err := os.MkdirAll(filepath.Join(bundle, d), 0o755); err != nil {
			return "", err
		}
	}
	config, err := json.Marshal(trialSpec(entries))
	if err != nil {
		return "", err
	}
	return bundle, os.WriteFile(filepath.Join(bundle, "config.json"), config, 0o600)
}

// trialSpec is the smallest spec that every tested runtime creates, with
// entries in its bounding, effective and permitted lists.
func trialSpec(entries []string) *specs.Spec {
	return &specs.Spec{
		Version: "1.0.0",
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Args: []string{"/proc/self/exe"},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  entries,
				Effective: entries,
				Permitted: entries,
			},
		},
		Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.PIDNamespace}},
		},
	}
}

// runDetached runs the runtime with the trial's global flags and args,
// stdin and stdout on /dev/null and stderr in a file: a created
// container's init keeps the stdio it was given, so a pipe would not end
// until the container is deleted. It returns what the runtime wrote on
// stderr.
func (t *trialRun) runDetached(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.p.timeout())
	defer cancel()
	stderr, err := os.CreateTemp(t.dir, "stderr-")
	if err != nil {
		return "", err
	}
	defer stderr.Close()
	err = runQuiet(ctx, t.runtime, t.global(args...), stderr)
	text := make([]byte, stderrLimit)
	n, _ := stderr.ReadAt(text, 0)
	if ctx.Err() != nil && err != nil {
		err = ctx.Err()
	}
	return string(text[:n]), err
}

// runQuiet runs path with args in a process group of its own, stdin and
// stdout on /dev/null and stderr to the given file, killing the group when
// ctx ends.
func runQuiet(ctx context.Context, path string, args []string, stderr *os.File) error {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd.Run()
}

// firstLineSuffix is ": " and the first line of a runtime's stderr, or "".
func firstLineSuffix(stderr string) string {
	if line := firstLine([]byte(stderr)); line != "" {
		return ": " + line
	}
	return ""
}

// trialTimeout bounds a whole trial.
func (p *Prober) trialTimeout() time.Duration {
	if p.TrialTimeout > 0 {
		return p.TrialTimeout
	}
	return DefaultTrialTimeout
}
