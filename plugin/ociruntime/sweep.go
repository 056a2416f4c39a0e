package ociruntime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A trial killed in the middle (SIGKILL: an engine that gives up on its
// hook) leaves its temporary directory and the containers it had created,
// whose init processes wait for a start that never comes. Every trial
// directory holds an owner file naming the process that made it and the
// runtime it tried; the next trial of any runtime removes the directories
// whose owner is gone, force-deleting their containers with the runtime
// that created them.

const (
	trialDirPrefix = "capgen-trial-"
	ownerFile      = "owner"
	// orphanAge is how old a trial directory without an owner file must
	// be to be taken as left behind: its trial was killed between making
	// the directory and writing the file.
	orphanAge = time.Minute
)

// writeOwner records this process and the runtime in a trial directory.
func writeOwner(dir, runtime string) error {
	start, err := processStart(os.Getpid())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ownerFile), fmt.Appendf(nil, "%d %s\n%s\n", os.Getpid(), start, runtime), 0o600)
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
		if runtime, stale := staleTrial(dir); stale {
			p.removeTrial(ctx, dir, runtime)
		}
	}
}

// staleTrial reports whether the trial directory dir was left by a trial
// that no longer runs, and the runtime it tried ("" when unknown).
func staleTrial(dir string) (runtime string, stale bool) {
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() || !ownedBy(st, os.Geteuid()) {
		return "", false // not ours to remove
	}
	data, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return "", time.Since(st.ModTime()) > orphanAge
	}
	lines := strings.SplitN(string(data), "\n", 3)
	var pid int
	var start string
	if len(lines) < 2 {
		return "", true
	}
	if _, err := fmt.Sscan(lines[0], &pid, &start); err != nil {
		return "", true
	}
	if now, err := processStart(pid); err == nil && now == start {
		return "", false // its trial is still running
	}
	return lines[1], true
}

// removeTrial force-deletes the containers in a stale trial directory's
// state directory with runtime, then removes the directory.
func (p *Prober) removeTrial(ctx context.Context, dir, runtime string) {
	state := filepath.Join(dir, "state")
	if entries, err := os.ReadDir(state); err == nil && filepath.IsAbs(runtime) {
		t := &trialRun{p: p, runtime: runtime, dir: dir}
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), trialDirPrefix) {
				t.delete(ctx, e.Name())
			}
		}
	}
	os.RemoveAll(dir)
}
