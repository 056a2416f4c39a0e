package plugin

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_capabilities = 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONTAINERS_CONF", conf)
	got, err := DefaultCapabilities()
	if err == nil {
		t.Fatalf("DefaultCapabilities() = %q with a malformed file", got)
	}
	for _, want := range []string{conf, "default_capabilities"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
