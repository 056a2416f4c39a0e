package srctree

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `package p

import (
	"fmt"
	"slices"
	"strings"
)

// keep is kept.
func keep() string { return strings.ToUpper(fmt.Sprint(1)) }

// drop goes.
func drop(s []int) bool {
	return slices.Contains(s, 1)
}

func after() {}
`

func sampleTree(t *testing.T) *Tree {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	return &Tree{Root: dir}
}

func TestReplaceAnchorsOnce(t *testing.T) {
	tr := sampleTree(t)
	if err := tr.Replace("p.go", "func after() {}", "func after() { keep() }"); err != nil {
		t.Fatal(err)
	}
	for _, anchor := range []string{"no such text", "func "} {
		if err := tr.Replace("p.go", anchor, "x"); err == nil || !strings.Contains(err.Error(), "want once") {
			t.Errorf("replace(%q): error %v, want one saying the anchor is not there once", anchor, err)
		}
	}
	if err := tr.Replace("missing.go", "a", "b"); err == nil {
		t.Error("replace in a missing file: no error")
	}
}

func TestReplaceFuncAndImports(t *testing.T) {
	tr := sampleTree(t)
	if err := tr.ReplaceFunc("p.go", "drop", ""); err != nil {
		t.Fatal(err)
	}
	if err := tr.DropUnusedImports("p.go", map[string]string{"slices": "slices", "strings": "strings"}); err != nil {
		t.Fatal(err)
	}
	if err := tr.AddImport("p.go", "cmp"); err != nil {
		t.Fatal(err)
	}
	patch, err := tr.Diff()
	if err != nil {
		t.Fatal(err)
	}
	got := string(patch)
	for _, want := range []string{"--- a/p.go\n", "+++ b/p.go\n", "-// drop goes.\n", "-\t\"slices\"\n", "+\t\"cmp\"\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("diff lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "-\t\"strings\"") || strings.Contains(got, "-func keep") {
		t.Errorf("diff removes what is still used:\n%s", got)
	}
	if err := tr.ReplaceFunc("p.go", "drop", ""); err == nil {
		t.Error("replacing a function that is gone: no error")
	}
}

func TestCreateAndNoChange(t *testing.T) {
	tr := sampleTree(t)
	if err := tr.Create("p.go", []byte("package p\n")); err == nil {
		t.Error("create over an existing file: no error")
	}
	if _, err := tr.Diff(); err == nil {
		t.Error("diff of an unedited tree: no error")
	}
	if err := tr.Create("q/new.go", []byte("package   q\n")); err != nil {
		t.Fatal(err)
	}
	patch, err := tr.Diff()
	if err != nil {
		t.Fatal(err)
	}
	if want := "--- /dev/null\n+++ b/q/new.go\n@@ -0,0 +1 @@\n+package q\n"; string(patch) != want {
		t.Errorf("diff of a new file = %q, want %q (gofmt-ed)", patch, want)
	}
}
