package ociruntime

// One trial container: its bundle, its create, reading the sets its process
// was given (on the host, or from inside a sandbox), and its delete.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// create creates a trial container granting entries, reads the sets its
// process was given and deletes it, and returns the capabilities held in
// all three of its bounding, effective and permitted sets. The sets are read on the host from the
// container's init, waiting for start (runc, crun), when that process
// already lives in the container's root; else (runsc, whose init is the
// sandbox) the container is started and its reporter says. A create the
// runtime fails returns a [createFailure].
func (t *trialRun) create(ctx context.Context, entries []string) (capnames.Set, error) {
	t.n++
	id := t.id + "-" + strconv.Itoa(t.n)
	bundle, err := t.writeBundle(entries)
	if err != nil {
		return 0, err
	}
	if err := t.noteContainer(id); err != nil {
		return 0, err
	}
	report, stdout, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer report.Close()
	defer t.deleteLater(ctx, id)
	stderr, err := t.runDetached(ctx, stdout, "create", "--bundle", bundle, id)
	stdout.Close() // the container has its copy
	if err != nil {
		return 0, &createFailure{stderr: stderr, err: err}
	}
	t.created = true
	out := t.p.exec(ctx, t.runtime, t.global("state", id)...)
	if out.failure != "" {
		return 0, fmt.Errorf("%q %s", "state", out.failure)
	}
	var state specs.State
	if err := json.Unmarshal(out.stdout, &state); err != nil || state.Pid <= 0 {
		return 0, fmt.Errorf("%q printed no container pid", "state")
	}
	var sets plugin.Sets
	if inRoot(state.Pid, filepath.Join(bundle, "rootfs")) {
		sets, err = processSets(state.Pid)
	} else {
		sets, err = t.fromInside(ctx, id, report)
	}
	if err != nil {
		return 0, err
	}
	asked := capnames.Set(0)
	for _, e := range entries {
		c, _ := capnames.Parse(e)
		asked.Add(c)
	}
	if extra := sets.Bounding.Union(sets.Effective).Union(sets.Permitted).Minus(asked); extra != 0 {
		return 0, fmt.Errorf("the trial container holds capabilities it was not given: %s", extra.Bitmap())
	}
	return sets.Bounding.Intersect(sets.Effective).Intersect(sets.Permitted), nil
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

// global prefixes args with the runtime's global options: the trial's own
// state directory, and those the engine runs it with.
func (t *trialRun) global(args ...string) []string {
	return slices.Concat([]string{"--root", filepath.Join(t.dir, "state")}, t.globals, args)
}

// delete force-deletes container id, with a deadline of its own, twice
// the runtime's timeout, so that it runs after a timeout too and has time
// to stop a sandbox, and removes the cgroup the runtime may leave.
func (t *trialRun) delete(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*t.p.timeout())
	defer cancel()
	t.runDetached(ctx, nil, "delete", "--force", id)
	removeCgroups(id)
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
