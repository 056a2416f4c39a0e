package engine

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/plugin"
	"go.podman.io/common/pkg/config"
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
	if _, err := plugin.MergeCapabilities(got, nil, nil); err == nil {
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

// TestLoadedDefaultsAsCommonLoads loads containers.conf with
// go.podman.io/common, as Podman does, and checks that LoadedDefaults
// returns the same entries in raw form: common's CAP_ prefixing of them is
// exactly common's list.
func TestLoadedDefaultsAsCommonLoads(t *testing.T) {
	for _, tc := range []struct {
		name           string
		conf, module   string // default_capabilities arrays, "" for none
		override       string
		want           []string
		withoutModules []string // what DefaultCapabilities reads
	}{
		{name: "module replaces", conf: `["CHOWN", "KILL"]`, module: `["CHOWN", "NET_RAW"]`,
			want: []string{"CHOWN", "NET_RAW"}, withoutModules: []string{"CHOWN", "KILL"}},
		{name: "module appends", conf: `["chown"]`, module: `["39", {append=true}]`,
			want: []string{"chown", "39"}, withoutModules: []string{"chown"}},
		{name: "override wins", conf: `["CHOWN"]`, module: `["KILL"]`, override: `["SETUID"]`,
			want: []string{"SETUID"}, withoutModules: []string{"SETUID"}},
		{name: "confusable kept raw", conf: `["chown", "ſys_admin"]`,
			want: []string{"chown", "ſys_admin"}, withoutModules: []string{"chown", "ſys_admin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("CONTAINERS_CONF", writeConf(t, dir, "containers.conf", tc.conf))
			t.Setenv("CONTAINERS_CONF_OVERRIDE", "")
			if tc.override != "" {
				t.Setenv("CONTAINERS_CONF_OVERRIDE", writeConf(t, dir, "override.conf", tc.override))
			}
			var modules []string
			if tc.module != "" {
				modules = append(modules, writeConf(t, dir, "module.conf", tc.module))
			}
			rtc, err := config.New(&config.Options{Modules: modules})
			if err != nil {
				t.Fatal(err)
			}
			got, err := LoadedDefaults(rtc)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("LoadedDefaults = %q, want %q", got, tc.want)
			}
			if loaded := rtc.Containers.DefaultCapabilities.Get(); !slices.Equal(commonPrefixed(got), loaded) {
				t.Errorf("common loaded %q; LoadedDefaults' entries prefix to %q", loaded, commonPrefixed(got))
			}
			without, err := DefaultCapabilities()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(without, tc.withoutModules) {
				t.Errorf("DefaultCapabilities = %q, want %q", without, tc.withoutModules)
			}
		})
	}
}

// TestLoadedDefaultsFileChanged: a file edited after the engine loaded it
// no longer explains the engine's list, which is then returned as loaded.
func TestLoadedDefaultsFileChanged(t *testing.T) {
	dir := t.TempDir()
	conf := writeConf(t, dir, "containers.conf", `["CHOWN"]`)
	t.Setenv("CONTAINERS_CONF", conf)
	t.Setenv("CONTAINERS_CONF_OVERRIDE", "")
	rtc, err := config.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	writeConf(t, dir, "containers.conf", `["KILL"]`)
	got, err := LoadedDefaults(rtc)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CAP_CHOWN"}; !slices.Equal(got, want) {
		t.Errorf("LoadedDefaults = %q, want the engine's %q", got, want)
	}
	if _, err := LoadedDefaults(nil); !errors.Is(err, plugin.ErrInvalidRequest) {
		t.Errorf("LoadedDefaults(nil) error = %v, want plugin.ErrInvalidRequest", err)
	}
}

// writeConf writes a containers.conf setting default_capabilities to list
// (none when empty) in dir and returns its path.
func writeConf(t *testing.T, dir, name, list string) string {
	t.Helper()
	text := "[containers]\n"
	if list != "" {
		text += "default_capabilities = " + list + "\n"
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
