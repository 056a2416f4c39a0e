package main

import (
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
