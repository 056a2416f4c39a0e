package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/plugin"
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
	_, rts := setup(t)
	var rc92 ociRuntime
	for _, r := range rts {
		if r.name == "runc-v1.0.0-rc92" {
			rc92 = r
		}
	}
	if rc92.path == "" {
		unavailable(t, "runc v1.0.0-rc92 is not in the matrix (%s)", runtimesVar)
	}
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
