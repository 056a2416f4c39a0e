package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
)

// Every runtime of the matrix is learned the way its release allows: runc
// 1.1 and later and crun 1.17 and 1.27.1 list their capabilities in
// features; older runc and crun 1.8.1 have no features command and are
// tried. A trial learns exactly
// the names the release applies, and numerals for crun only.
func TestE2ELearned(t *testing.T) {
	_, rts := setup(t)
	for _, r := range rts {
		t.Run(r.name, func(t *testing.T) {
			f := r.features(t)
			if f.Unknown {
				t.Fatalf("%s: features unknown: %s", r.name, f.Reason)
			}
			want := plugin.FromFeatures
			if !hasFeaturesCommand(r) {
				want = plugin.FromTrial
			}
			if f.Source != want {
				t.Errorf("%s learned from %q, want %q", r.name, f.Source, want)
			}
			if f.Numerals != r.numerals {
				t.Errorf("%s: numerals %t, want %t", r.name, f.Numerals, r.numerals)
			}
			if f.Source != plugin.FromTrial {
				return
			}
			learned := parseAll(t, f.Names...)
			if want := r.applies().Intersect(r.names); learned != want {
				t.Errorf("%s: the trial learned %v, want %v", r.name, learned.Strings(), want.Strings())
			}
			t.Logf("%s: trial learned %d names, tested %s, rejected %q", r.name, len(f.Names), f.Tested.Bitmap(), f.Rejected)
		})
	}
}

// hasFeaturesCommand reports whether r's release has "features": runc
// 1.1.0 and later, crun 1.9 and later. Debian's crun 1.8.1 has none.
func hasFeaturesCommand(r ociRuntime) bool {
	for _, old := range []string{"runc-v1.0.", "runc-1.0.", "crun-1.8."} {
		if strings.HasPrefix(r.name, old) {
			return false
		}
	}
	return true
}

// A runtime is tried once per binary: a second process (capgen resolve)
// reads the trial's answer from the cache and creates no container; a
// replaced binary is tried again. The runtime is runc v1.0.0-rc92 behind a
// wrapper that logs its commands.
func TestE2ETrialOncePerBinary(t *testing.T) {
	rc92 := requireRC92(t)
	capgen := buildCapgen(t)
	dir := t.TempDir()
	log, wrapper, cache := filepath.Join(dir, "log"), filepath.Join(dir, "runc"), filepath.Join(dir, "cache")
	writeWrapper := func() {
		script := fmt.Sprintf("#!/bin/sh\n# runc v1.0.0-rc92, its commands logged.\necho \"$*\" >> %q\nexec %q \"$@\"\n", log, rc92.path)
		tmp := wrapper + ".new"
		writeFile(t, tmp, []byte(script), 0o755)
		if err := os.Rename(tmp, wrapper); err != nil {
			t.Fatal(err)
		}
	}
	creates := func() int {
		data, err := os.ReadFile(log)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return strings.Count(string(data), " create ")
	}
	resolve := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, capgen, "resolve", "--runtime", wrapper, "--cache-dir", cache, "--cap-add", "all").CombinedOutput()
		if err != nil {
			t.Fatalf("capgen resolve: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "learned    trial") {
			t.Errorf("capgen resolve does not say the runtime was learned by trial:\n%s", out)
		}
	}

	writeWrapper()
	resolve()
	first := creates()
	if first == 0 {
		t.Fatal("the first capgen resolve created no trial container")
	}
	resolve()
	if n := creates(); n != first {
		t.Errorf("a second capgen resolve created %d trial containers; want none", n-first)
	}
	writeWrapper() // a new file renamed into place, as a package upgrade does
	resolve()
	if n := creates(); n != 2*first {
		t.Errorf("after the binary was replaced, capgen resolve created %d trial containers; want %d", n-first, first)
	}
	t.Logf("trial containers: %d by the first resolve, 0 by the second, %d after the binary was replaced", first, creates()-first)
}

// A trial killed at any step (SIGKILL: an engine giving up on its hook)
// leaves its directory and maybe a created container whose init waits for
// a start; the next trial removes both. The runtimes are runc v1.0.0-rc92
// and runsc, whose state directory holds no directory per container and
// whose containers are sandboxes, each behind a wrapper that, at its Nth
// command, kills capgen and then runs the command, so that it completes
// with nobody left to clean up after it. Every step of rc92's trial is
// tried; runsc's take seconds each, so its first containers' are.
func TestE2ETrialKilled(t *testing.T) {
	h := requireHost(t)
	for _, r := range []ociRuntime{requireRC92(t), requireRunsc(t, h)} {
		t.Run(r.name, func(t *testing.T) {
			last := 1000
			if r.kind == "runsc" {
				last = 9
			}
			trialKilled(t, r, last)
		})
	}
}

func trialKilled(t *testing.T, r ociRuntime, last int) {
	capgen := buildCapgen(t)
	dir := t.TempDir()
	wrapper, counter, killAt := filepath.Join(dir, r.kind), filepath.Join(dir, "counter"), filepath.Join(dir, "kill-at")
	// The trial runs deletes while it creates: the count is taken under
	// a lock (flock(1), util-linux).
	script := fmt.Sprintf("#!/bin/sh\n# %[4]s; its command number $(cat %[2]q) first kills its caller.\n"+
		"n=$(flock %[1]q.lock sh -c 'n=$(( $(cat %[1]q 2>/dev/null || echo 0) + 1 )); echo $n > %[1]q; echo $n')\n"+
		"if [ -f %[2]q ] && [ \"$n\" = \"$(cat %[2]q)\" ]; then kill -9 $PPID; fi\nexec %[3]q \"$@\"\n", counter, killAt, r.path, r.name)
	writeFile(t, wrapper, []byte(script), 0o755)
	resolve := func(tmp string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		args := []string{"resolve", "--runtime", wrapper, "--cache-dir", t.TempDir(), "--cap-add", "all"}
		for _, g := range r.globals {
			args = append(args, "--runtime-flag", g)
		}
		cmd := exec.CommandContext(ctx, capgen, args...)
		cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
		return cmd.Run()
	}
	leftBehind := 0
	steps := 0
	for step := 3; step <= last; step++ { // 1 and 2 are features and --version; then create, state, ...
		// runsc's sandbox, which runs as nobody, chroots into a directory
		// it makes in $TMPDIR: t.TempDir's (and its parent's) mode 0700
		// would keep it out.
		tmp, err := os.MkdirTemp("", "capgen-e2e-tmp-")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { deleteTrialContainers(r, tmp); os.RemoveAll(tmp) })
		os.Remove(counter)
		writeFile(t, killAt, []byte(strconv.Itoa(step)), 0o644)
		if err := resolve(tmp); err == nil {
			break // the trial has fewer commands: every one was a step
		}
		steps++
		waitNoCommandNaming(t, tmp, wrapper)
		pids := trialInits(r, tmp)
		leftBehind += len(pids)
		os.Remove(killAt)
		if err := resolve(tmp); err != nil {
			t.Fatalf("step %d: the next capgen resolve: %v", step, err)
		}
		if left, _ := filepath.Glob(filepath.Join(tmp, "capgen-trial-*")); len(left) > 0 {
			t.Errorf("step %d: trial directories left after the next trial: %q", step, left)
		}
		for _, pid := range pids {
			if running(pid) {
				t.Errorf("step %d: the init (pid %d) of a killed trial's container is still alive", step, pid)
			}
		}
		t.Logf("killed at command %d: %d trial container(s) left, none after the next trial", step, len(pids))
	}
	if leftBehind == 0 || steps < 5 {
		t.Errorf("%d steps, %d containers left by the kills: the test did not test the sweep", steps, leftBehind)
	}
}

// running reports whether process pid runs: it exists and is no zombie
// (this machine's pid 1 may reap orphans late).
func running(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(data), ')')
	fields := strings.Fields(string(data[i+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// trialInits returns the init pids of the containers in the trial
// directories under tmp: for runsc, their sandboxes'.
func trialInits(r ociRuntime, tmp string) []int {
	var pids []int
	dirs, _ := filepath.Glob(filepath.Join(tmp, "capgen-trial-*", "state"))
	for _, state := range dirs {
		out, _ := exec.Command(r.path, slices.Concat([]string{"--root", state}, r.globals, []string{"list", "--format", "json"})...).Output()
		var list []struct {
			Pid int `json:"pid"`
		}
		json.Unmarshal(out, &list)
		for _, c := range list {
			if c.Pid > 0 {
				pids = append(pids, c.Pid)
			}
		}
	}
	return pids
}

// deleteTrialContainers force-deletes what a failed test left under tmp.
func deleteTrialContainers(r ociRuntime, tmp string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, "capgen-trial-*", "state"))
	for _, state := range dirs {
		global := slices.Concat([]string{"--root", state}, r.globals)
		out, _ := exec.Command(r.path, append(global, "list", "--quiet")...).Output()
		for _, id := range strings.Fields(string(out)) {
			exec.Command(r.path, append(slices.Clone(global), "delete", "--force", id)...).Run()
		}
	}
}

// waitNoCommandNaming waits until no command of the runtime (run by its
// wrapper, which execs it) has s in its command line: the command a killed
// capgen left running has ended. runsc's sandbox and gofer processes, which
// name the trial's directory too, are not commands.
func waitNoCommandNaming(t *testing.T, s, wrapper string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		found := false
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			data, err := os.ReadFile(p)
			if err != nil || !strings.Contains(string(data), s) {
				continue
			}
			argv0, _, _ := strings.Cut(string(data), "\x00")
			if base := filepath.Base(argv0); base != "runsc-sandbox" && base != "runsc-gofer" && !strings.HasPrefix(base, "exe") || argv0 == wrapper {
				found = true
				break
			}
		}
		if !found {
			return
		}
	}
	t.Fatalf("a command naming %s still runs", s)
}

// requireRC92 returns runc v1.0.0-rc92 of the matrix, or skips t (fails it
// with CAPGEN_REQUIRE_E2E=1).
func requireRC92(t *testing.T) ociRuntime {
	t.Helper()
	_, rts := setup(t)
	for _, r := range rts {
		if r.name == "runc-v1.0.0-rc92" {
			return r
		}
	}
	unavailable(t, "runc v1.0.0-rc92 is not in the matrix (%s)", runtimesVar)
	return ociRuntime{}
}

// What a cold trial learns and costs for runsc, runc v1.0.0-rc92, runc
// 1.1.5 and crun 1.27.1: each behind a wrapper that counts its creates
// and, for runc 1.1.5 and crun 1.27.1, hides their features command as
// releases before runc 1.1 and crun 1.9 lack it, so that they are tried
// too. The trial must learn exactly what each applies.
func TestE2ETrialResults(t *testing.T) {
	h, rts := setup(t)
	rts = append(rts, requireRunsc(t, h))
	reporter := buildCapgen(t)
	for _, r := range rts {
		if !strings.HasPrefix(r.name, "runc-1.1.5") && !slices.Contains([]string{"runc-v1.0.0-rc92", "crun-1.27.1"}, r.name) && r.kind != "runsc" {
			continue
		}
		t.Run(r.name, func(t *testing.T) {
			dir := t.TempDir()
			path := r.path
			if r.needsHybridWorkaround() {
				path = hybridWrapper(t, dir, r)
			}
			wrapper, log := filepath.Join(dir, r.kind), filepath.Join(dir, "log")
			script := fmt.Sprintf("#!/bin/sh\n# %s without a features command, logging its commands.\n"+
				"echo \"$*\" >> %q\nfor a; do [ \"$a\" = features ] && { echo 'unknown command features' >&2; exit 1; }; done\nexec %q \"$@\"\n",
				r.name, log, path)
			writeFile(t, wrapper, []byte(script), 0o755)
			cache := filepath.Join(dir, "cache")
			p := &ociruntime.Prober{CacheDir: cache, Reporter: reporter}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			f, err := p.ProbeWith(ctx, nil, wrapper, r.globals)
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if f.Source != plugin.FromTrial {
				t.Fatalf("%s: learned from %s, want a trial: %s", r.name, f.Source, f.Reason)
			}
			if learned, want := parseAll(t, f.Names...), r.applies().Intersect(r.names); learned != want {
				t.Errorf("%s: the trial learned %v, want %v", r.name, learned.Strings(), want.Strings())
			}
			if f.Numerals != r.numerals {
				t.Errorf("%s: numerals %t, want %t", r.name, f.Numerals, r.numerals)
			}
			data, _ := os.ReadFile(log)
			files, _ := filepath.Glob(filepath.Join(cache, "features-*.cache"))
			if len(files) != 1 {
				t.Fatalf("cache files %q, want one", files)
			}
			file, _ := os.ReadFile(files[0])
			t.Logf("%s: cold trial, %d containers, %v; cache file:\n%s", r.name,
				strings.Count(string(data), " create "), took.Round(time.Millisecond), file)
		})
	}
}

// A wrapper script that runs `runc` from $PATH keeps its own file when
// what $PATH resolves to changes from runc 1.1.5 to v1.0.0-rc92: the probe
// cache notices (the script's identity covers the executables it names),
// so --cap-add all, resolved by a new process reading the same cache,
// still runs on rc92 instead of failing `unknown capability
// "CAP_PERFMON"`.
func TestE2EWrapperSwitch(t *testing.T) {
	h, rts := setup(t)
	var runc115, rc92 ociRuntime
	for _, r := range rts {
		switch {
		case strings.HasPrefix(r.name, "runc-1.1.5"):
			runc115 = r
		case r.name == "runc-v1.0.0-rc92":
			rc92 = r
		}
	}
	if runc115.path == "" || rc92.path == "" {
		unavailable(t, "runc 1.1.5 and v1.0.0-rc92 are needed (%s)", runtimesVar)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	wrapper := filepath.Join(dir, "my-runtime")
	writeFile(t, wrapper, []byte("#!/bin/sh\n# the site's runtime: runc, as $PATH finds it\nexec runc \"$@\"\n"), 0o755)
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	cache := filepath.Join(dir, "cache")
	for _, r := range []ociRuntime{runc115, rc92} {
		os.Remove(filepath.Join(bin, "runc"))
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(r.path, filepath.Join(bin, "runc")); err != nil {
			t.Fatal(err)
		}
		// A new prober for each, as a new process of the shim or the hook
		// is: only the cache file carries the answer over.
		p := &ociruntime.Prober{CacheDir: cache}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		f, err := p.Probe(ctx, wrapper)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		spec := baseSpec(root)
		if _, err := plugin.Apply(spec, plugin.Request{Adds: []string{"all"}, Runtime: f, Env: h.env}); err != nil {
			t.Fatal(err)
		}
		wrapped := r
		wrapped.path = wrapper
		got := runConfig(t, wrapped, marshalSpec(t, spec))
		checkRootSets(t, "--cap-add all through the wrapper running "+r.name, got, r.applies())
		t.Logf("%s behind the wrapper: learned from %s, %d names", r.name, f.Source, len(f.Names))
	}
}
