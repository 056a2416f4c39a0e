package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
)

// TestVersion: `capgen version` and `capgen --version` print the same
// three lines: capgen's module version, the table's kernel release, the Go
// that built it.
func TestVersion(t *testing.T) {
	sub, err := runCapgen(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	flag, err := runCapgen(t, "--version")
	if err != nil {
		t.Fatal(err)
	}
	if sub != flag {
		t.Errorf("capgen version printed\n%s\ncapgen --version printed\n%s", sub, flag)
	}
	lines := strings.Split(strings.TrimSuffix(sub, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "capgen ") ||
		!strings.Contains(lines[1], "Linux "+capnames.TableKernel) || !strings.Contains(lines[1], "CAP_CHECKPOINT_RESTORE") ||
		!strings.Contains(lines[2], runtime.Version()) {
		t.Errorf("capgen version printed %q; want capgen's version, Linux %s and %s", sub, capnames.TableKernel, runtime.Version())
	}
	if _, err := runCapgen(t, "version", "extra"); err == nil {
		t.Error("capgen version extra succeeded")
	}
}

// TestReleaseName: a release binary named capgen-OS-ARCH is capgen, not a
// shim for a runtime "linux-amd64" that does not exist: it answers
// --version, version, --help and completion; a runtime command under that
// name still fails, naming the runtime it cannot find.
func TestReleaseName(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "capgen-linux-amd64")
	if err := os.Rename(buildCapgen(t, t.TempDir()), bin); err != nil {
		t.Fatal(err)
	}
	version, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(version), "capgen ") {
		t.Fatalf("capgen-linux-amd64 --version: %q, %v; want capgen's version", version, err)
	}
	for _, args := range [][]string{{"version"}, {"--help"}, {"completion", "bash"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil || strings.Contains(string(out), "OCI runtime not found") {
			t.Errorf("capgen-linux-amd64 %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if sub, _ := exec.Command(bin, "version").Output(); string(sub) != string(version) {
		t.Errorf("capgen-linux-amd64 version printed %q, --version %q", sub, version)
	}
	// As the shim, with its cache (and memo of containers.conf) in a
	// directory of the test's own.
	state := exec.Command(bin, "state", "x")
	state.Env = append(os.Environ(), "CAPGEN_CACHE_DIR="+t.TempDir())
	out, err := state.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `"linux-amd64"`) {
		t.Errorf("capgen-linux-amd64 state x: %v\n%s; want the shim's error naming the runtime linux-amd64", err, out)
	}
}
