package ociruntime

import (
	"os"
	"path/filepath"
	"testing"
)

// TestScriptDeps: a wrapper script's identity changes with what it runs,
// found through $PATH or by its path, and not with what it writes.
func TestScriptDeps(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	write := func(path, text string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	real1, real2 := filepath.Join(dir, "runc-1.1.5"), filepath.Join(dir, "runc-rc92")
	write(real1, "one", 0o755)
	write(real2, "two", 0o755)
	link := filepath.Join(bin, "runc")
	if err := os.Symlink(real1, link); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "log")
	byName, byPath := filepath.Join(dir, "by-name"), filepath.Join(dir, "by-path")
	write(byName, "#!/bin/sh\necho \"$*\" >> "+log+"\nexec ${RUNC:-runc} \"$@\"\n", 0o755)
	write(byPath, "#!/bin/sh\nexec "+link+" --debug \"$@\"\n", 0o755)
	binary := filepath.Join(dir, "binary")
	write(binary, "\x7fELF", 0o755)

	if d := scriptDeps(binary, size(t, binary)); d != 0 {
		t.Errorf("a binary's digest is %d, want 0", d)
	}
	before := map[string]uint64{byName: scriptDeps(byName, size(t, byName)), byPath: scriptDeps(byPath, size(t, byPath))}
	write(log, "a line the wrapper logged\n", 0o644)
	for script, d := range before {
		if d == 0 {
			t.Errorf("%s: no digest", script)
		}
		if after := scriptDeps(script, size(t, script)); after != d {
			t.Errorf("%s: the digest changed with the log it writes", script)
		}
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real2, link); err != nil {
		t.Fatal(err)
	}
	for script, d := range before {
		if scriptDeps(script, size(t, script)) == d {
			t.Errorf("%s: the digest did not change when runc became another binary", script)
		}
	}
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
