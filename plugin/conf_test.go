package plugin

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDefaultCapabilitiesRaw(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_capabilities = [\"chown\", \"ſys_admin\", \"39\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONTAINERS_CONF", conf)
	got, err := DefaultCapabilities()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"chown", "ſys_admin", "39"}; !slices.Equal(got, want) {
		t.Fatalf("DefaultCapabilities() = %q, want the raw %q", got, want)
	}
	if _, err := MergeCapabilities(got, nil, nil); err == nil {
		t.Error("a confusable default merged")
	}
}

func TestDefaultCapabilitiesBadFile(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "containers.conf")
	os.WriteFile(conf, []byte("[containers]\ndefault_capabilities = 7\n"), 0o644)
	t.Setenv("CONTAINERS_CONF", conf)
	if got, err := DefaultCapabilities(); err == nil {
		t.Errorf("DefaultCapabilities() = %q with a malformed file", got)
	}
}
