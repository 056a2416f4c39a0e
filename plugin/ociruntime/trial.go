package ociruntime

// A trial learns what a runtime that reports no capabilities applies, by
// asking it. It creates a container whose process.capabilities hold one
// entry per capability the trial can observe, run the way the engine runs
// the runtime (its global options, such as runsc's --network), and reads
// the sets the container's process was given. When the container's init
// already lives in the container's root (runc 1.0 and later, crun: they
// set capabilities and pivot before waiting for start), its CapBnd, CapEff
// and CapPrm in the host's /proc/PID/status are read and the container is
// never started. Under a sandboxed runtime (runsc) that pid is the
// sandbox's, so the container is started and its process, a reporter
// (report.go), writes its own sets to a pipe. One round tries canonical
// names, one create decimal numerals.
//
// A runtime may fail a create for an entry it cannot map, naming it (runc
// before 1.0.0-rc93: `unknown capability "CAP_PERFMON"`) or not (runsc:
// "cannot read client sync file"); [settle] narrows the failing entries
// down. One that ignores an entry (runc 1.0.2: "ignoring unknown or
// unavailable capabilities"; crun: silently) just does not show it applied.
// Either way the entry is not one to emit.
//
// The container is as small as a runtime accepts: its root is an empty
// directory with proc and dev mount points (and the reporter, bind-mounted
// read-only), /proc its one mount, mount and pid namespaces only, stdin on
// /dev/null, stdout a pipe that only the reporter writes. Its id
// (capgen-trial-...), the runtime's state directory (--root) and the bundle
// are in a private temporary directory, removed afterwards; every container
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
	"sync"
	"syscall"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultTrialTimeout bounds a whole trial of a [Prober] whose TrialTimeout
// is zero: every create, state and start it runs (the deletes have
// deadlines of their own). A trial takes under a second (runc
// v1.0.0-rc92: five containers, 0.2 s) or, narrowing by bisection, a few
// (runsc 20221219: ten containers, 2.5 s); the bound stays well
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
	// containers is how many containers the trial created or tried to.
	containers int
	// failure, when set, says why nothing was learned; transient
	// failures (a timeout) are not cached.
	failure   string
	transient bool
}

// trialRun is one trial in progress: the runtime, the global options it is
// run with, its temporary directory, the reporter, and the ids of its
// containers. Its deadline is in the context its methods are given.
type trialRun struct {
	p       *Prober
	runtime string
	globals []string
	dir     string
	n       int // containers created so far, for their ids
	id      string
	// reporter is the executable run in the container when its process
	// cannot be read from the host; noReporter says why there is none.
	reporter   string
	noReporter error
	created    bool // a create has succeeded
	// deleting counts the deletes under way: runsc takes a second or two
	// to delete a sandbox, so a container is deleted while the next is
	// tried, and the trial waits for them all at its end.
	deleting sync.WaitGroup
}

// trial learns which entries the runtime at path, run with the global
// options globals, applies.
func (p *Prober) trial(ctx context.Context, path string, globals []string) trialOutcome {
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
	if err := writeOwner(dir, path, globals); err != nil {
		return trialOutcome{failure: "recording the trial's owner: " + err.Error(), transient: true}
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return trialOutcome{failure: err.Error(), transient: true}
	}
	t := &trialRun{p: p, runtime: path, globals: globals, dir: dir, id: "capgen-trial-" + hex.EncodeToString(suffix[:])}
	t.reporter, t.noReporter = p.reporter()
	out := t.learn(ctx, tested)
	t.deleting.Wait() // before the directory, which holds their state, goes
	out.containers = t.n
	return out
}

// learn runs the trial's two rounds: canonical names, then numerals.
func (t *trialRun) learn(ctx context.Context, tested capnames.Set) trialOutcome {
	out := trialOutcome{tested: tested, names: []string{}}
	table := capnames.Default()
	var names []string
	for _, c := range tested.Caps() {
		if row, ok := table.Lookup(c); ok {
			names = append(names, row.Name)
		}
	}
	applied, rejected, err := settle(ctx, t.applied, names, false)
	if err == nil && !t.created {
		// Every create failed: is it the entries, or the runtime?
		_, err = t.create(ctx, nil)
		if err != nil {
			err = fmt.Errorf("the runtime fails even a container without capabilities: %w", err)
		}
	}
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
	// A runtime that fails a numeral takes none: one create decides.
	sets, err := t.create(ctx, numerals)
	var failed *createFailure
	switch {
	case errors.As(err, &failed) && !errors.Is(err, context.DeadlineExceeded):
		out.numerals = false
	case err != nil:
		return t.failed(ctx, err)
	default:
		out.numerals = sets.applied() == tested
	}
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

// settle returns the capabilities the runtime applies of entries and the
// entries that fail its create, creating containers with create; failing
// says that a create of all of entries is known to fail already. A create
// that fails naming an entry (runc before 1.0.0-rc93: `unknown capability
// "CAP_PERFMON"`) has that entry taken out and is tried again; one that
// fails naming none (runsc: "cannot read client sync file") is narrowed by
// bisection: each half is settled, and when the first half creates whole
// the failure is in the second. Failures are taken to come from the
// entries present, so a list of n entries with k that fail costs about
// k·log2(n) containers.
func settle(ctx context.Context, create createFunc, entries []string, failing bool) (capnames.Set, []string, error) {
	if len(entries) == 0 {
		return 0, nil, nil
	}
	if !failing {
		applied, err := create(ctx, entries)
		var failed *createFailure
		switch {
		case err == nil:
			return applied, nil, nil
		case !errors.As(err, &failed) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
			return 0, nil, err // not the entries: a timeout, or the trial's own failure
		}
		if i := slices.IndexFunc(entries, func(e string) bool { return namesEntry(failed.stderr, e) }); i >= 0 {
			applied, rejected, err := settle(ctx, create, slices.Delete(slices.Clone(entries), i, i+1), false)
			return applied, append([]string{entries[i]}, rejected...), err
		}
	}
	if len(entries) == 1 {
		return 0, entries, nil
	}
	half := len(entries) / 2
	applied, rejected, err := settle(ctx, create, entries[:half], false)
	if err != nil {
		return 0, nil, err
	}
	applied2, rejected2, err := settle(ctx, create, entries[half:], len(rejected) == 0)
	return applied.Union(applied2), append(rejected, rejected2...), err
}

// createFunc creates a trial container granting entries and returns the
// capabilities it applied, or a [createFailure] when the runtime failed
// the create.
type createFunc func(ctx context.Context, entries []string) (capnames.Set, error)

// applied is the createFunc of t.
func (t *trialRun) applied(ctx context.Context, entries []string) (capnames.Set, error) {
	sets, err := t.create(ctx, entries)
	return sets.applied(), err
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

// createFailure is the error of a trial create that the runtime failed,
// with what it wrote on stderr.
type createFailure struct {
	stderr string
	err    error
}

func (e *createFailure) Error() string {
	return fmt.Sprintf("%q failed: %v%s", "create", e.err, firstLineSuffix(e.stderr))
}

func (e *createFailure) Unwrap() error { return e.err }

// create creates a trial container granting entries, reads the sets its
// process was given and deletes it. The sets are read on the host from the
// container's init, waiting for start (runc, crun), when that process
// already lives in the container's root; else (runsc, whose init is the
// sandbox) the container is started and its reporter says. A create the
// runtime fails returns a [createFailure].
func (t *trialRun) create(ctx context.Context, entries []string) (trialSets, error) {
	t.n++
	id := t.id + "-" + strconv.Itoa(t.n)
	bundle, err := t.writeBundle(entries)
	if err != nil {
		return trialSets{}, err
	}
	if err := t.noteContainer(id); err != nil {
		return trialSets{}, err
	}
	report, stdout, err := os.Pipe()
	if err != nil {
		return trialSets{}, err
	}
	defer report.Close()
	defer t.deleteLater(ctx, id)
	stderr, err := t.runDetached(ctx, stdout, "create", "--bundle", bundle, id)
	stdout.Close() // the container has its copy
	if err != nil {
		return trialSets{}, &createFailure{stderr: stderr, err: err}
	}
	t.created = true
	out := t.p.exec(ctx, t.runtime, t.global("state", id)...)
	if out.failure != "" {
		return trialSets{}, fmt.Errorf("%q %s", "state", out.failure)
	}
	var state specs.State
	if err := json.Unmarshal(out.stdout, &state); err != nil || state.Pid <= 0 {
		return trialSets{}, fmt.Errorf("%q printed no container pid", "state")
	}
	var sets plugin.Sets
	if inRoot(state.Pid, filepath.Join(bundle, "rootfs")) {
		sets, err = processSets(state.Pid)
	} else {
		sets, err = t.fromInside(ctx, id, report)
	}
	if err != nil {
		return trialSets{}, err
	}
	asked := capnames.Set(0)
	for _, e := range entries {
		c, _ := capnames.Parse(e)
		asked.Add(c)
	}
	if extra := sets.Bounding.Union(sets.Effective).Union(sets.Permitted).Minus(asked); extra != 0 {
		return trialSets{}, fmt.Errorf("the trial container holds capabilities it was not given: %s", extra.Bitmap())
	}
	return trialSets{sets}, nil
}

// fromInside starts container id and reads its reporter's output from
// report.
func (t *trialRun) fromInside(ctx context.Context, id string, report *os.File) (plugin.Sets, error) {
	if t.noReporter != nil {
		return plugin.Sets{}, fmt.Errorf("the container's process is not a host process (a sandboxed runtime?): %w", t.noReporter)
	}
	if stderr, err := t.runDetached(ctx, nil, "start", id); err != nil {
		return plugin.Sets{}, fmt.Errorf("%q failed: %w%s", "start", err, firstLineSuffix(stderr))
	}
	deadline := time.Now().Add(t.p.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := report.SetReadDeadline(deadline); err != nil {
		return plugin.Sets{}, err
	}
	lines, err := readReport(report)
	if err != nil {
		return plugin.Sets{}, err
	}
	return parseSets(lines, "the reporter's output")
}

// trialSets are the sets a trial container's process holds, none beyond
// the entries it was given.
type trialSets struct {
	plugin.Sets
}

// applied returns the capabilities held in all three sets.
func (s trialSets) applied() capnames.Set {
	return s.Bounding.Intersect(s.Effective).Intersect(s.Permitted)
}

// global prefixes args with the runtime's global options: the trial's own
// state directory, and those the engine runs it with.
func (t *trialRun) global(args ...string) []string {
	return slices.Concat([]string{"--root", filepath.Join(t.dir, "state")}, t.globals, args)
}

// delete force-deletes container id, with a deadline of its own, twice
// the runtime's timeout, so that it runs after a timeout too and has time
// to stop a sandbox.
func (t *trialRun) delete(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*t.p.timeout())
	defer cancel()
	t.runDetached(ctx, nil, "delete", "--force", id)
}

// deleteLater deletes container id in the background; see deleting.
func (t *trialRun) deleteLater(ctx context.Context, id string) {
	t.deleting.Add(1)
	go func() {
		defer t.deleting.Done()
		t.delete(ctx, id)
	}()
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
	spec := trialSpec(entries)
	if t.reporter != "" {
		// The mount point: the root is read-only to the runtime.
		if err := os.WriteFile(filepath.Join(bundle, "rootfs", reporterPath), nil, 0o755); err != nil {
			return "", err
		}
		spec.Process.Args = []string{reporterPath, ReportArg}
		spec.Mounts = append(spec.Mounts, specs.Mount{
			Destination: reporterPath, Type: "bind", Source: t.reporter, Options: []string{"bind", "ro"},
		})
	}
	config, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	return bundle, os.WriteFile(filepath.Join(bundle, "config.json"), config, 0o600)
}

// trialSpec is the smallest spec that every tested runtime creates, with
// entries in its bounding, effective and permitted lists. Its process,
// /proc/self/exe, never runs unless a reporter takes its place.
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

// runDetached runs the runtime with the trial's global options and args,
// stdin on /dev/null, stdout on the given file (nil: /dev/null) and stderr
// in a file: a created container's init keeps the stdio it was given, so a
// pipe would not end until the container is deleted. It returns what the
// runtime wrote on stderr.
func (t *trialRun) runDetached(ctx context.Context, stdout *os.File, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.p.timeout())
	defer cancel()
	stderr, err := os.CreateTemp(t.dir, "stderr-")
	if err != nil {
		return "", err
	}
	defer stderr.Close()
	err = runQuiet(ctx, t.runtime, t.global(args...), stdout, stderr)
	text := make([]byte, stderrLimit)
	n, _ := stderr.ReadAt(text, 0)
	if ctx.Err() != nil && err != nil {
		err = ctx.Err()
	}
	return string(text[:n]), err
}

// runQuiet runs path with args in a process group of its own, stdin on
// /dev/null, stdout and stderr to the given files, killing the group when
// ctx ends.
func runQuiet(ctx context.Context, path string, args []string, stdout, stderr *os.File) error {
	cmd := exec.CommandContext(ctx, path, args...)
	if stdout != nil {
		cmd.Stdout = stdout
	}
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
