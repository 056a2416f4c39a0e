// Package ociruntime learns what an OCI runtime applies in
// process.capabilities: from its features command, its --version, or a
// trial with throwaway containers (read on the host, or from inside a
// sandboxed runtime's container), run with the global options the engine
// gives the runtime, with a cache keyed on the runtime binary's identity
// (and a wrapper script's runtime's) and those options, so that it is never
// stale. A [Prober] does the work;
// [Probe] uses a process-wide one. It takes a runtime path, or a name and a
// lookup function (plugin/engine.Lookup reads containers.conf), and imports
// no go.podman.io package, so that go.podman.io/common can import it.
package ociruntime

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/capgen-dev/capgen/plugin"
)

// Defaults of a [Prober] whose fields are zero.
const (
	DefaultProbeTimeout = 2 * time.Second
	DefaultOutputLimit  = 1 << 20
)

// ErrRuntimeNotFound is wrapped by the errors of [Probe] for a runtime name
// or path that does not lead to an executable file.
var ErrRuntimeNotFound = errors.New("OCI runtime not found")

// A Prober learns what OCI runtimes accept in process.capabilities by
// running "<runtime> features", and remembers the answer for as long as the
// runtime binary is unchanged: in memory, and in a cache file in CacheDir
// that other processes read instead of running the runtime again. Both are
// keyed on the binary's device, inode, size, mtime and ctime, so a replaced
// or touched runtime is probed again on the next call; a hot call costs one
// stat (memo) or a stat and a small file read (cache file).
//
// When the features command fails or lists no capabilities (runc before
// 1.1, crun before 1.29), the runtime's --version tells Version and, for
// crun, Numerals, and a trial learns what it applies (Source FromTrial):
// it creates throwaway containers whose entries are every canonical name,
// then every numeral, of the capabilities this process can observe, and
// reads the sets the kernel gave their init. A trial needs CAP_SYS_ADMIN
// and takes a few hundred milliseconds once per runtime binary; where it
// cannot run, the runtime is Unknown (Source Assumed) and the reason says
// why. Answers are cached whether known or Unknown, except when the failure
// may be transient: a timeout, a runtime that could not be started, or one
// killed by SIGKILL. A cache directory that cannot be
// created, read or written leaves the memo alone in use; it is never an
// error. Processes probing the same cold runtime take a lock file beside
// its cache file (flock(2)) so that one runs it and the others read its
// answer; none waits longer than a cold probe may take for the lock.
//
// The zero value is ready to use. Set the fields before the first call and
// do not change them afterwards; a Prober is safe for concurrent use.
type Prober struct {
	// Timeout bounds each run of the runtime; zero means
	// DefaultProbeTimeout. On timeout the runtime's process group is
	// killed.
	Timeout time.Duration
	// OutputLimit bounds what a run may print on stdout; zero means
	// DefaultOutputLimit. A runtime that prints more is killed.
	OutputLimit int64
	// CacheDir is the directory of the cache files; empty means
	// DefaultCacheDir().
	CacheDir string
	// DisableDiskCache keeps results in memory only.
	DisableDiskCache bool
	// Lookup returns the paths an engine configures for a runtime name
	// (containers.conf engine.runtimes), tried in order before $PATH; nil
	// means none. plugin/engine.Lookup reads them from containers.conf.
	Lookup func(name string) []string
	// TrialTimeout bounds a trial (see Prober); zero means
	// DefaultTrialTimeout.
	TrialTimeout time.Duration
	// DisableTrial leaves a runtime that reports no capabilities Unknown
	// (Source Assumed) instead of trying it.
	DisableTrial bool
	// Reporter is the statically linked executable a trial runs as the
	// container's process when that process cannot be read from the host
	// (gVisor's runsc, whose container is inside a sandbox): run with the
	// one argument [ReportArg], it writes its own sets; see [ServeReport].
	// Empty means the running executable. Without a reporter, such a
	// runtime stays Unknown.
	Reporter string

	mu       sync.Mutex
	memo     map[string]memoEntry
	inflight map[string]chan struct{} // one cold probe per path at a time
}

var defaultProber = sync.OnceValue(func() *Prober { return new(Prober) })

// Probe reports what runtime accepts in process.capabilities, using a
// process-wide [Prober] with default settings, which looks runtime names up
// in $PATH only (plugin/engine.Probe also reads containers.conf).
//
// runtime is a name or a path. A runtime that cannot say what it accepts —
// no features command, a crash, a hang, garbage on stdout — yields
// plugin.Features{Unknown: true, Reason: ...}, not an error. Errors are for a
// runtime that cannot be found (wrapping [ErrRuntimeNotFound]) and for ctx
// ending.
func Probe(ctx context.Context, runtime string) (*plugin.Features, error) {
	return defaultProber().Probe(ctx, runtime)
}

// Probe is [Probe] with p's settings and caches. It returns the memoised
// answer when the runtime binary's identity (path, device, inode, size,
// mtime, ctime) is unchanged, else the cache file's answer when it matches
// that identity, else runs the runtime. The caller owns the result.
func (p *Prober) Probe(ctx context.Context, runtime string) (*plugin.Features, error) {
	return p.ProbeIn(ctx, p.Lookup, runtime)
}

// ProbeIn is [Prober.Probe] with runtime names resolved through lookup
// (see [Prober.Lookup]) instead of p.Lookup.
func (p *Prober) ProbeIn(ctx context.Context, lookup func(string) []string, runtime string) (*plugin.Features, error) {
	return p.ProbeWith(ctx, lookup, runtime, nil)
}

// ProbeWith is [Prober.ProbeIn] for the runtime as an engine runs it, with
// the global options globals, each as "--name=value" or "--name" (as
// internal/shim/record reads them): runsc, for one, starts no container
// without its --network option on this kind of host, and applies
// CAP_NET_RAW only with --net-raw. The options that only say where the
// runtime keeps state and logs or how it manages cgroups are left out
// ([TrialGlobals]); the answer is remembered for the rest.
func (p *Prober) ProbeWith(ctx context.Context, lookup func(string) []string, runtime string, globals []string) (*plugin.Features, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("probing runtime %q: %w", runtime, err)
	}
	path, id, err := locate(lookup, runtime)
	if err != nil {
		return nil, err
	}
	id.Deps = scriptDeps(path, id.Size)
	key := cacheKey{Path: path, Globals: strings.Join(TrialGlobals(globals), "\x00"), binaryID: id}
	if f := p.recall(key); f != nil {
		return clone(f), nil
	}
	unlock, err := p.lockCold(ctx, key.name())
	if err != nil {
		return nil, fmt.Errorf("probing runtime %q: %w", runtime, err)
	}
	defer unlock()
	if f := p.recall(key); f != nil { // probed while we waited
		return clone(f), nil
	}
	f, cacheable, err := p.probeCold(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("probing runtime %q: %w", runtime, err)
	}
	if cacheable {
		p.remember(key, f)
	}
	return clone(f), nil
}

// scratchGlobals are the global options that only say where a runtime
// keeps its state and logs or how it manages cgroups: a trial has its own
// state directory and no cgroups, and its answer holds whatever they are.
var scratchGlobals = []string{
	"root", "log", "log-format", "log-level", "debug", "debug-log", "debug-log-format",
	"debug-command", "systemd-cgroup", "cgroup-manager", "criu",
}

// TrialGlobals returns the global options of globals ("--name=value" or
// "--name") that a probe runs the runtime with and remembers its answer
// for: all but those of state, logs and cgroups.
func TrialGlobals(globals []string) []string {
	var kept []string
	for _, g := range globals {
		name, _, _ := strings.Cut(strings.TrimLeft(g, "-"), "=")
		if !slices.Contains(scratchGlobals, name) {
			kept = append(kept, g)
		}
	}
	return kept
}

// probeCold answers from the cache file or by running the runtime.
// cacheable is false for answers that may be transient (see Prober) or
// whose binary changed while it ran.
func (p *Prober) probeCold(ctx context.Context, key cacheKey) (f *plugin.Features, cacheable bool, err error) {
	path, id := key.Path, key.binaryID
	disk := p.diskCache()
	locked := false
	if disk != nil {
		if f := disk.load(key); f != nil {
			return f, true, nil
		}
		// A holder that takes longer than a cold probe may is stuck:
		// stop waiting and probe without the disk.
		unlock, err := disk.lock(ctx, key, p.coldBound())
		if err != nil && ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		if err == nil { // else the directory is unusable: memo only
			defer unlock()
			locked = true
			if f := disk.load(key); f != nil { // another process probed
				return f, true, nil
			}
		}
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrRuntimeNotFound, err)
	}
	// Run it by the path it was found at: a runtime shim is a link whose
	// name says which runtime it is (capgen-runc -> capgen).
	f, cacheable, err = p.run(ctx, path, key.globals())
	if err != nil {
		return nil, false, err
	}
	f.Runtime = resolved
	after, err := statBinary(path)
	if after.Deps = scriptDeps(path, after.Size); err != nil || after != id {
		cacheable = false // replaced while it ran: the answer may be the old binary's
	}
	if cacheable && locked {
		_ = disk.store(key, f) // an unwritable directory degrades to the memo
	}
	return f, cacheable, nil
}

// run learns the features of the runtime at path, run with the global
// options globals, by running it: its features command, else its
// --version and a trial.
func (p *Prober) run(ctx context.Context, path string, globals []string) (*plugin.Features, bool, error) {
	f := &plugin.Features{Runtime: path, Source: plugin.FromFeatures}
	out := p.exec(ctx, path, append(slices.Clone(globals), "features")...)
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	cacheable := !out.transient
	if out.failure != "" {
		f.Unknown, f.Reason = true, `"features" `+out.failure
	} else {
		parseFeatures(f, out.stdout)
	}
	if !f.Unknown {
		return f, cacheable, nil
	}
	f.Source = plugin.Assumed
	if f.Version == "" && !out.timedOut {
		ver := p.exec(ctx, path, "--version")
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		if ver.transient {
			cacheable = false
		} else if ver.failure == "" {
			parseVersion(f, ver.stdout)
		}
	}
	if out.timedOut || p.DisableTrial {
		return f, cacheable, nil // a runtime that hangs is not run again
	}
	t := p.trial(ctx, path, globals)
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if t.failure != "" {
		f.Reason += "; trial: " + t.failure
		return f, cacheable && !t.transient, nil
	}
	f.Source, f.Unknown, f.Reason = plugin.FromTrial, false, ""
	f.Names, f.Numerals, f.Tested, f.Rejected = t.names, t.numerals, t.tested, t.rejected
	f.AllCaps = false // a trial tries no ALL_CAPS: no runtime of the matrix applies it
	return f, cacheable, nil
}

func (p *Prober) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultProbeTimeout
}

// coldBound is the longest a cold probe runs: features, --version and a
// trial.
func (p *Prober) coldBound() time.Duration {
	return 2*p.timeout() + p.trialTimeout()
}

func (p *Prober) outputLimit() int64 {
	if p.OutputLimit > 0 {
		return p.OutputLimit
	}
	return DefaultOutputLimit
}

// lockCold lets one goroutine at a time probe path in this process, so
// that concurrent first calls run the runtime once; the others then find
// the answer in the memo.
func (p *Prober) lockCold(ctx context.Context, path string) (unlock func(), err error) {
	p.mu.Lock()
	if p.inflight == nil {
		p.inflight = make(map[string]chan struct{})
	}
	sem, ok := p.inflight[path]
	if !ok {
		sem = make(chan struct{}, 1)
		p.inflight[path] = sem
	}
	p.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// clone returns a copy of f that shares no memory with it.
func clone(f *plugin.Features) *plugin.Features {
	c := *f
	c.Names = slices.Clone(f.Names)
	return &c
}
