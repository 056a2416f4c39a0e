package ociruntime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A trial killed in the middle (SIGKILL: an engine that gives up on its
// hook) leaves its temporary directory and the containers it had created,
// whose init processes wait for a start that never comes. Every trial
// directory holds an owner file naming the process that made it, the
// runtime it tried and the global options it ran it with, and a file of
// the ids of its containers, each written before its create; the next
// trial of any runtime removes the directories whose owner is gone,
// force-deleting their containers with the runtime that created them. The
// ids come from that file rather than from the runtime's state directory,
// whose layout is the runtime's own (runc and crun keep a directory per
// container, runsc files).

const (
	trialDirPrefix = "capgen-trial-"
	ownerFile      = "owner"
	containersFile = "containers"
	// orphanAge is how old a trial directory without an owner file must
	// be to be taken as left behind: its trial was killed between making
	// the directory and writing the file.
	orphanAge = time.Minute
)

// writeOwner records this process, the runtime and its global options,
// one a line, in a trial directory.
func writeOwner(dir, runtime string, globals []string) error {
	start, err := processStart(os.Getpid())
	if err != nil {
		return err
	}
	data := fmt.Appendf(nil, "%d %s\n%s\n", os.Getpid(), start, runtime)
	for _, g := range globals {
		data = append(data, g+"\n"...)
	}
	return os.WriteFile(filepath.Join(dir, ownerFile), data, 0o600)
}

// noteContainer adds id to the trial's containers file, before its create.
func (t *trialRun) noteContainer(id string) error {
	f, err := os.OpenFile(filepath.Join(t.dir, containersFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(id + "\n")
	return errors.Join(err, f.Close())
}

// processStart returns the start time of process pid, in clock ticks since
// boot (field 22 of /proc/PID/stat), which tells a process from a later one
// with the same pid.
func processStart(pid int) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(data), ')')
	fields := strings.Fields(string(data[i+1:]))
	if i < 0 || len(fields) < 20 {
		return "", fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return fields[19], nil
}

// sweepTrials removes the trial directories under parent whose trial is
// gone, with their containers.
func (p *Prober) sweepTrials(ctx context.Context, parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, trialDirPrefix+"*"))
	for _, dir := range dirs {
		if runtime, globals, stale := staleTrial(dir); stale {
			p.removeTrial(ctx, dir, runtime, globals)
		}
	}
}

// staleTrial reports whether the trial directory dir was left by a trial
// that no longer runs, and the runtime it tried ("" when unknown) with its
// global options.
func staleTrial(dir string) (runtime string, globals []string, stale bool) {
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() || !ownedBy(st, os.Geteuid()) {
		return "", nil, false // not ours to remove
	}
	data, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return "", nil, time.Since(st.ModTime()) > orphanAge
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var pid int
	var start string
	if len(lines) < 2 {
		return "", nil, true
	}
	if _, err := fmt.Sscan(lines[0], &pid, &start); err != nil {
		return "", nil, true
	}
	if now, err := processStart(pid); err == nil && now == start {
		return "", nil, false // its trial is still running
	}
	return lines[1], lines[2:], true
}

// removeTrial force-deletes the containers of a stale trial directory
// with runtime and its global options, then removes the directory.
func (p *Prober) removeTrial(ctx context.Context, dir, runtime string, globals []string) {
	data, err := os.ReadFile(filepath.Join(dir, containersFile))
	if err == nil && filepath.IsAbs(runtime) {
		t := &trialRun{p: p, runtime: runtime, globals: globals, dir: dir}
		for _, id := range strings.Fields(string(data)) {
			if strings.HasPrefix(id, trialDirPrefix) {
				t.delete(ctx, id)
			}
		}
	}
	os.RemoveAll(dir)
}
