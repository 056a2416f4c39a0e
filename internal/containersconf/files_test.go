package containersconf

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.podman.io/common/pkg/config"
)

// TestFindAsCommonReads: every file go.podman.io/common reads that a test
// can write (the user's file and drop-ins, CONTAINERS_CONF) is one Find
// names, and its directory one of DropInDirs for a drop-in: a runtime
// named only there reaches common's table.
func TestFindAsCommonReads(t *testing.T) {
	for _, tc := range []struct {
		name string
		file func(home string) string // where the entry is written
		env  func(home, file string)
	}{
		{"user file", func(home string) string { return filepath.Join(home, "containers", "containers.conf") }, func(string, string) {}},
		{"user drop-in", func(home string) string { return filepath.Join(home, "containers", "containers.conf.d", "50-x.conf") }, func(string, string) {}},
		{"CONTAINERS_CONF", func(home string) string { return filepath.Join(home, "elsewhere.conf") },
			func(_, file string) { t.Setenv(ConfEnv, file) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("XDG_CONFIG_HOME", home)
			file := tc.file(home)
			tc.env(home, file)
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte("[engine.runtimes]\ncapgen-test = [\"/opt/capgen-test\"]\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Engine.OCIRuntimes["capgen-test"]; !slices.Equal(got, []string{"/opt/capgen-test"}) {
				t.Fatalf("common did not read %s: capgen-test = %q", file, got)
			}
			s, err := Find()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(s.Files, file) {
				t.Errorf("Find().Files = %q, without %s, which common reads", s.Files, file)
			}
			if filepath.Base(filepath.Dir(file)) == "containers.conf.d" && !slices.Contains(s.DropInDirs, filepath.Dir(file)) {
				t.Errorf("Find().DropInDirs = %q, without %s", s.DropInDirs, filepath.Dir(file))
			}
		})
	}
}
