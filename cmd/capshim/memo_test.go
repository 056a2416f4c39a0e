package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/internal/shim/confmemo"
)

// TestCreateOnTheMemo: capgen-NAME linked to capshim hands create to
// capgen until capgen has memoised containers.conf's engine.runtimes, then
// does it itself with the same result; a change to containers.conf is a
// miss, and NAME resolves as the file now says. The runtimes are scripts
// that print runc 1.1.5's features and log their arguments.
func TestCreateOnTheMemo(t *testing.T) {
	dir := t.TempDir()
	build(t, dir, "../capgen", "capgen")
	build(t, dir, ".", "capshim")
	link := filepath.Join(dir, "capgen-fake")
	if err := os.Symlink("capshim", link); err != nil {
		t.Fatal(err)
	}
	runtimeA, logA := fakeRuntime(t, dir, "a")
	runtimeB, logB := fakeRuntime(t, dir, "b")
	conf := filepath.Join(dir, "containers.conf")
	writeConf := func(runtime string) {
		t.Helper()
		if err := os.WriteFile(conf, []byte("[engine.runtimes]\nfake = [\""+runtime+"\"]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConf(runtimeA)
	cache := filepath.Join(dir, "cache")
	// The test's environment is the shim's, so that the test reads the
	// memo as the shim does (the memo is valid for one environment).
	t.Setenv("CONTAINERS_CONF", conf)
	t.Setenv("CAPGEN_CACHE_DIR", cache)
	time.Sleep(1100 * time.Millisecond) // containers.conf settles: only then is it memoised

	create := func(id string) string {
		t.Helper()
		bundle := filepath.Join(dir, "bundle-"+id)
		if err := os.MkdirAll(bundle, 0o755); err != nil {
			t.Fatal(err)
		}
		config := filepath.Join(bundle, "config.json")
		in := `{"ociVersion": "1.0.2", "process": {"cwd": "/", "capabilities": {"bounding": ["ALL_CAPS"], "effective": ["CAP_KILL"]}}}`
		if err := os.WriteFile(config, []byte(in), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(link, "--root", filepath.Join(dir, "root"), "create", "--bundle", bundle, id)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("capgen-fake create %s: %v\n%s", id, err, out)
		}
		data, err := os.ReadFile(config)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	memoised := func() bool {
		_, ok := confmemo.Load(cache, filepath.Join(dir, "capgen"))
		return ok
	}

	if memoised() {
		t.Fatal("a memo before the first run")
	}
	first := create("one") // capshim has no memo: capgen loads containers.conf
	if !memoised() {
		t.Fatal("no valid memo after capgen ran")
	}
	// capgen held open for writing cannot be run (ETXTBSY), and is the
	// same file in the same state: the memo stays valid.
	busy, err := os.OpenFile(filepath.Join(dir, "capgen"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	second := create("two") // capshim alone, on the memo
	busy.Close()
	if first != second || !strings.Contains(first, `"CAP_CHOWN"`) || strings.Contains(first, "ALL_CAPS") {
		t.Errorf("config.json through capgen:\n%s\nthrough capshim on the memo:\n%s\nwant equal, ALL_CAPS expanded", first, second)
	}
	if got := readLines(t, logA); !slicesHasSuffix(got, "create --bundle "+filepath.Join(dir, "bundle-two")+" two") {
		t.Errorf("runtime a ran %q; want the second create last", got)
	}

	writeConf(runtimeB)
	if memoised() {
		t.Fatal("the memo is valid after containers.conf changed")
	}
	create("three")
	if got := readLines(t, logB); !slicesHasSuffix(got, "create --bundle "+filepath.Join(dir, "bundle-three")+" three") {
		t.Errorf("runtime b ran %q; want the create after containers.conf named it", got)
	}
}

// build builds the command in pkg into dir/name.
func build(t *testing.T, dir, pkg, name string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
}

// fakeRuntime writes a script, standing for runc 1.1.5, that logs its
// arguments without the global options and prints runc 1.1.5's features
// (every name of the table up to CAP_CHECKPOINT_RESTORE).
func fakeRuntime(t *testing.T, dir, name string) (path, log string) {
	t.Helper()
	log = filepath.Join(dir, name+".log")
	doc := filepath.Join(dir, name+"-features.json")
	names := capnames.UpTo(capnames.CAP_CHECKPOINT_RESTORE).Strings()
	features := `{"ociVersionMin":"1.0.0","linux":{"capabilities":["` + strings.Join(names, `","`) +
		`"]},"annotations":{"org.opencontainers.runc.version":"1.1.5"}}`
	if err := os.WriteFile(doc, []byte(features), 0o644); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "runtime-"+name)
	script := "#!/bin/sh\n# runc 1.1.5's features, for capshim's tests.\n[ \"$1\" = --root ] && shift 2\n" +
		"echo \"$@\" >> '" + log + "'\n[ \"$1\" = features ] && exec cat '" + doc + "'\nexit 0\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, log
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func slicesHasSuffix(lines []string, last string) bool {
	return len(lines) > 0 && lines[len(lines)-1] == last
}
