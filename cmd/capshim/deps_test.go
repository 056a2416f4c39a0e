package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies: capshim is fast because it links neither
// containers/common nor the CLI; nothing may bring them in, directly or
// through another package.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, d := range deps {
		for _, heavy := range []string{"go.podman.io/", "github.com/spf13/", "github.com/BurntSushi/", "github.com/dave/jennifer", "github.com/capgen-dev/capgen/plugin/engine"} {
			if strings.HasPrefix(d, heavy) {
				t.Errorf("capshim links %s", d)
			}
		}
	}
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed %d packages: %q", len(deps), deps)
	}
}
