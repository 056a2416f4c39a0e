// Package ociruntime learns what an OCI runtime applies in
// process.capabilities: from its features command, its --version, or a
// trial with throwaway containers, with a cache keyed on the runtime
// binary's identity so that it is never stale. A [Prober] does the work;
// [Probe] uses a process-wide one. It takes a runtime path, or a name and a
// lookup function (plugin/engine.Lookup reads containers.conf), and imports
// no go.podman.io package, so that go.podman.io/common can import it.
package ociruntime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"
)

// Defaults of a [Prober] whose fields are zero.
const (
	DefaultProbeTimeout = 2 * time.Second
	DefaultOutputLimit  = 1 << 20
)

// Annotations by which a runtime's features output names the runtime.
const (
	crunVersionAnnotation = "run.oci.crun.version"
	runcVersionAnnotation = "org.opencontainers.runc.version"
	// ShimAnnotation is the annotation of capgen's runtime shim in its
	// features output; its value is the real runtime's path.
	ShimAnnotation = "io.github.capgen-dev.shim"
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
// plugin/shim/record reads them): runsc, for one, starts no container
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
	id.Deps = scriptDeps(path)
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

// Find resolves runtime, a path or a name (looked up in the paths lookup
// gives for it, then in $PATH), to the absolute path of an executable
// file. It passes over the files at except: a runtime shim's own binaries,
// which must never find themselves. The error wraps [ErrRuntimeNotFound]
// when nothing is found.
func Find(lookup func(string) []string, runtime string, except ...string) (string, error) {
	var self []binaryID
	for _, e := range except {
		id, err := statBinary(e)
		if err != nil {
			return "", fmt.Errorf("the excluded binary: %w", err)
		}
		self = append(self, id)
	}
	path, _, err := locate(lookup, runtime, self...)
	return path, err
}

// locate resolves runtime to the path of an executable file and stats it:
// one stat for a path, one per candidate for a name. It passes over the
// binaries whose identities are self (a runtime shim's own), as if they
// were not there.
func locate(lookup func(string) []string, runtime string, self ...binaryID) (string, binaryID, error) {
	if runtime == "" {
		return "", binaryID{}, fmt.Errorf("%w: empty runtime name", ErrRuntimeNotFound)
	}
	if strings.ContainsRune(runtime, '/') {
		path, err := filepath.Abs(runtime)
		if err != nil {
			return "", binaryID{}, fmt.Errorf("runtime %q: %w", runtime, err)
		}
		id, err := statBinary(path)
		if err != nil {
			return "", binaryID{}, fmt.Errorf("runtime %q: %w", runtime, err)
		}
		if id.oneOf(self) {
			return "", binaryID{}, fmt.Errorf("%w: %q is the shim itself", ErrRuntimeNotFound, runtime)
		}
		return path, id, nil
	}
	var candidates []string
	if lookup != nil {
		candidates = lookup(runtime)
	}
	for _, c := range candidates {
		if !filepath.IsAbs(c) {
			continue // a relative entry would depend on the working directory
		}
		if id, err := statBinary(c); err == nil && !id.oneOf(self) {
			return c, id, nil
		}
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if !filepath.IsAbs(dir) {
			continue // as exec.LookPath refuses a result relative to "."
		}
		path := filepath.Join(dir, runtime)
		if id, err := statBinary(path); err == nil && !id.oneOf(self) {
			return path, id, nil
		}
	}
	where := "the engine configures no path for it"
	if len(candidates) > 0 {
		where = "none of the paths the engine configures for it is an executable file (" + strings.Join(candidates, ", ") + ")"
	}
	return "", binaryID{}, fmt.Errorf("%w: %q: %s, and $PATH has no such executable", ErrRuntimeNotFound, runtime, where)
}

// oneOf reports whether id is one of the files others.
func (id binaryID) oneOf(others []binaryID) bool {
	for _, o := range others {
		if id.Dev == o.Dev && id.Ino == o.Ino {
			return true
		}
	}
	return false
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
		return nil, false, fmt.Errorf("%w: %v", ErrRuntimeNotFound, err)
	}
	// Run it by the path it was found at: a runtime shim is a link whose
	// name says which runtime it is (capgen-runc -> capgen).
	f, cacheable, err = p.run(ctx, path, key.globals())
	if err != nil {
		return nil, false, err
	}
	f.Runtime = resolved
	after, err := statBinary(path)
	if after.Deps = scriptDeps(path); err != nil || after != id {
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

// parseFeatures fills f from the output of "<runtime> features".
func parseFeatures(f *plugin.Features, stdout []byte) {
	var ff features.Features
	if err := json.Unmarshal(stdout, &ff); err != nil {
		f.Unknown, f.Reason = true, `"features" printed invalid JSON: `+printable(err.Error())
		return
	}
	if _, ok := ff.Annotations[ShimAnnotation]; ok {
		f.Shim = true
	}
	if v, ok := ff.Annotations[crunVersionAnnotation]; ok {
		// crun maps each entry with libcap's cap_from_name, which takes
		// decimal numerals: see read_caps in containers/crun
		// src/libcrun/linux.c and lookupname in libcap's cap_text.c.
		f.Version, f.Numerals = "crun "+printable(v), true
	} else if v, ok := ff.Annotations[runcVersionAnnotation]; ok {
		f.Version = "runc " + printable(v)
	}
	if ff.Linux == nil || ff.Linux.Capabilities == nil {
		// runtime-spec: a nil list means "unknown", not "none".
		f.Unknown, f.Reason = true, `"features" lists no linux.capabilities`
		return
	}
	f.Names = slices.Clone(ff.Linux.Capabilities)
	f.AllCaps = slices.Contains(f.Names, capnames.AllCaps)
}

// parseVersion fills f.Version and f.Numerals from the output of
// "<runtime> --version" when its first line is "<name> version <v>".
//
// crun prints "crun version X" and, when built with libcap, a "+CAP" tag
// (print_version in containers/crun src/crun.c). Every crun release maps
// process.capabilities entries with libcap's cap_from_name (read_caps in
// src/libcrun/linux.c), which accepts decimal numerals; a crun built without
// libcap (HAVE_CAP unset, no "+CAP") sets no capabilities at all, so it is
// not credited with numerals.
func parseVersion(f *plugin.Features, stdout []byte) {
	first, rest, _ := bytes.Cut(stdout, []byte("\n"))
	fields := strings.Fields(string(first))
	if len(fields) < 3 || fields[1] != "version" {
		return
	}
	name, version := printable(fields[0]), printable(fields[2])
	f.Version = name
	if version[0] >= '0' && version[0] <= '9' {
		// runc built with go install prints "runc version spec: ..."
		// or "runc version unknown": no release to report.
		f.Version += " " + version
	}
	f.Numerals = name == "crun" && slices.Contains(strings.Fields(string(rest)), "+CAP")
}

// output is what one run of the runtime produced. failure, when set, says
// why its stdout is not to be used.
// RunFeatures runs "path features" with p's timeout and output limit and
// returns what it printed on stdout; the error says why it failed. The
// runtime shim passes the document through.
func (p *Prober) RunFeatures(ctx context.Context, path string) ([]byte, error) {
	out := p.exec(ctx, path, "features")
	if out.failure != "" {
		return nil, fmt.Errorf("%s features: %s", path, out.failure)
	}
	return out.stdout, nil
}

type output struct {
	stdout   []byte
	failure  string
	timedOut bool
	// transient failures may not recur: a timeout (a loaded machine), a
	// failure to start (process limits), SIGKILL (the OOM killer). They
	// are not cached.
	transient bool
}

// stderrLimit bounds the stderr kept for failure reasons.
const stderrLimit = 4096

// exec runs path with args, with p's timeout and output limit, killing its
// process group when either is exceeded or ctx ends.
//
// The pipes are its own rather than os/exec's, so that it waits for their
// end exactly as long as the timeout allows: a runtime that exits while a
// child it left behind holds stdout costs at most the timeout, and a slow
// reader after a normal exit is never mistaken for a failure.
func (p *Prober) exec(ctx context.Context, path string, args ...string) output {
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	stdout := &cappedBuffer{limit: p.outputLimit(), onOverflow: cancel}
	stderr := &cappedBuffer{limit: stderrLimit}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	read, err := startWithPipes(cmd, stdout, stderr)
	if err != nil {
		return output{failure: "could not run: " + printable(err.Error()), transient: true}
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		read(ctx)
		exited <- err
	}()
	select {
	case err = <-exited:
	case <-ctx.Done():
		// Timeout, overflow or the caller's cancellation: the answer is
		// known now. Kill the group (os/exec does too, from another
		// goroutine) and let the goroutine above reap it, rather than
		// wait for the kernel to tear down processes it may take a
		// loaded machine a while to schedule.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	return p.outcome(ctx, err, stdout, stderr)
}

// outcome is what a run of the runtime produced, given the context it ran
// under, the error of its Wait (nil when the context ended first) and what
// it wrote.
func (p *Prober) outcome(ctx context.Context, err error, stdout, stderr *cappedBuffer) output {
	switch {
	case stdout.overflowed():
		return output{failure: "output exceeds " + byteSize(p.outputLimit())}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return output{failure: "timed out after " + p.timeout().String(), timedOut: true, transient: true}
	case ctx.Err() != nil:
		return output{failure: "cancelled"} // the caller's: run reports ctx.Err()
	case err == nil:
		return output{stdout: stdout.buf}
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return output{failure: "could not run: " + printable(err.Error()), transient: true}
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return output{failure: "killed by signal " + unix.SignalName(ws.Signal()), transient: ws.Signal() == syscall.SIGKILL}
	}
	failure := fmt.Sprintf("exited with status %d", exit.ExitCode())
	if msg := firstLine(stderr.buf); msg != "" {
		failure += ": " + msg
	}
	return output{failure: failure}
}

// startWithPipes starts cmd with its stdout and stderr on pipes copied to
// the given writers. The returned read waits until both pipes are drained,
// or until ctx ends, when it closes them.
func startWithPipes(cmd *exec.Cmd, stdout, stderr io.Writer) (read func(context.Context), err error) {
	var readEnds, writeEnds []*os.File
	closeAll := func(files []*os.File) {
		for _, f := range files {
			f.Close()
		}
	}
	for range 2 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(readEnds)
			closeAll(writeEnds)
			return nil, err
		}
		readEnds, writeEnds = append(readEnds, r), append(writeEnds, w)
	}
	cmd.Stdout, cmd.Stderr = writeEnds[0], writeEnds[1]
	err = cmd.Start()
	closeAll(writeEnds) // the child has its copies
	if err != nil {
		closeAll(readEnds)
		return nil, err
	}
	var wg sync.WaitGroup
	for i, w := range []io.Writer{stdout, stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(w, readEnds[i])
		}()
	}
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	return func(ctx context.Context) {
		select {
		case <-drained:
		case <-ctx.Done():
		}
		closeAll(readEnds) // unblocks the copies if something still holds a pipe
		<-drained
	}, nil
}

// cappedBuffer keeps up to limit bytes and discards the rest, noting the
// overflow and calling onOverflow once. Only overflowed may be called while
// a Write may still be running.
type cappedBuffer struct {
	buf        []byte
	limit      int64
	overflow   atomic.Bool
	onOverflow func()
}

func (b *cappedBuffer) Write(data []byte) (int, error) {
	if b.overflow.Load() {
		return len(data), nil
	}
	room := b.limit - int64(len(b.buf))
	if int64(len(data)) <= room {
		b.buf = append(b.buf, data...)
		return len(data), nil
	}
	b.buf = append(b.buf, data[:room]...)
	b.overflow.Store(true)
	if b.onOverflow != nil {
		b.onOverflow()
	}
	return len(data), nil
}

func (b *cappedBuffer) overflowed() bool { return b.overflow.Load() }

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

// maxMessage bounds the runtime-provided text quoted in a reason.
const maxMessage = 200

// firstLine returns the first non-empty line of b, made printable.
func firstLine(b []byte) string {
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" {
			return printable(line)
		}
	}
	return ""
}

// printable replaces control and other unprintable characters of text a
// runtime wrote, so a reason cannot drive a terminal, and bounds its length.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
	if r := []rune(s); len(r) > maxMessage {
		s = string(r[:maxMessage]) + "…"
	}
	return s
}

// byteSize formats n as the limits are usually given: "1 MiB", "64 KiB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// statBinary returns the identity of the executable file at path, following
// symbolic links.
func statBinary(path string) (binaryID, error) {
	st, err := os.Stat(path)
	if err != nil {
		return binaryID{}, fmt.Errorf("%w: %v", ErrRuntimeNotFound, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return binaryID{}, fmt.Errorf("%w: %s is not an executable file", ErrRuntimeNotFound, path)
	}
	return identity(st), nil
}
