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
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/capgen-dev/capgen/capnames"
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
	applied, rejected, err := settle(ctx, t.create, names, false)
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
	applied, err = t.create(ctx, numerals)
	var failed *createFailure
	switch {
	case errors.As(err, &failed) && !errors.Is(err, context.DeadlineExceeded):
		out.numerals = false
	case err != nil:
		return t.failed(ctx, err)
	default:
		out.numerals = applied == tested
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

// trialTimeout bounds a whole trial.
func (p *Prober) trialTimeout() time.Duration {
	if p.TrialTimeout > 0 {
		return p.TrialTimeout
	}
	return DefaultTrialTimeout
}
