package shim

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestOwnBinaries: the shim never resolves its runtime to capgen or to the
// capshim installed beside it, whichever capgen-NAME links to: that would
// hand the command back to the shim.
func TestOwnBinaries(t *testing.T) {
	dir := t.TempDir()
	capgen, capshim := filepath.Join(dir, "capgen"), filepath.Join(dir, "capshim")
	if err := os.WriteFile(capgen, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := OwnBinaries(capgen); !slices.Equal(got, []string{capgen}) {
		t.Errorf("capgen without capshim: %q", got)
	}
	if err := os.WriteFile(capshim, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	for self, want := range map[string][]string{capgen: {capgen, capshim}, capshim: {capshim, capgen}} {
		if got := OwnBinaries(self); !slices.Equal(got, want) {
			t.Errorf("OwnBinaries(%s) = %q, want %q", self, got, want)
		}
	}
}
