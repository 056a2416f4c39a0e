package configure

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"go.podman.io/common/pkg/config"
	hookschema "go.podman.io/common/pkg/hooks/1.0.0"
)

// realFile returns the content of a configuration file an engine installs
// or prints on this machine, skipping t when it is missing (failing it
// under CAPGEN_REQUIRE_E2E=1, as .ci/run sets it).
func realFile(t *testing.T, what string, read func() ([]byte, error)) []byte {
	t.Helper()
	data, err := read()
	if err != nil {
		if os.Getenv("CAPGEN_REQUIRE_E2E") == "1" {
			t.Fatalf("%s: %v", what, err)
		}
		t.Skipf("%s: %v (apt-get install podman containerd)", what, err)
	}
	return data
}

// install makes a capgen binary, and capshim beside it when withCapshim,
// in a fresh directory: the link goes there.
func install(t *testing.T, withCapshim bool) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "capgen")
	for _, name := range []string{"capgen", "capshim"}[:map[bool]int{false: 1, true: 2}[withCapshim]] {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// roundTrip configures opts, checks the result with check, checks that a
// second run changes nothing, removes, and checks that every file is back
// to its original bytes (or absent) and the link gone.
func roundTrip(t *testing.T, opts Options, files []string, check func(t *testing.T)) {
	t.Helper()
	before := snapshot(t, files)
	changes, err := Plan(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 {
		t.Fatal("configure plans no change on a fresh configuration")
	}
	if err := Apply(changes); err != nil {
		t.Fatal(err)
	}
	check(t)
	if again, err := Plan(opts); err != nil || len(again) != 0 {
		t.Errorf("a second run plans %d changes (%v):\n%s", len(again), err, Diff(again))
	}
	remove := opts
	remove.Remove = true
	changes, err = Plan(remove)
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(changes); err != nil {
		t.Fatal(err)
	}
	for path, data := range before {
		got, err := readFile(path)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s after --remove:\n%s\nwant, byte for byte:\n%s", path, got, data)
		}
	}
	for _, path := range []string{filepath.Join(filepath.Dir(opts.Binary), "capgen-runc")} {
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after --remove: %v", path, err)
		}
	}
	if again, err := Plan(remove); err != nil || len(again) != 0 {
		t.Errorf("a second --remove plans %d changes (%v):\n%s", len(again), err, Diff(again))
	}
}

// snapshot reads files (nil for an absent one) and every backup beside
// them, which must be gone again after removal.
func snapshot(t *testing.T, files []string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range files {
		data, err := readFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f], out[f+".capgen-backup"] = data, nil
	}
	return out
}

func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

// loadContainersConf loads Debian's containers.conf and the drop-in with
// containers/common's own loader, as Podman and Buildah do.
func loadContainersConf(t *testing.T, base, dropIn string) *config.Config {
	t.Helper()
	t.Setenv("CONTAINERS_CONF", base)
	t.Setenv("CONTAINERS_CONF_OVERRIDE", dropIn)
	cfg, err := config.New(nil)
	if err != nil {
		t.Fatalf("containers/common's config does not load the result: %v", err)
	}
	return cfg
}

func debianContainersConf(t *testing.T) string {
	t.Helper()
	data := realFile(t, "Debian's containers.conf", func() ([]byte, error) { return os.ReadFile("/usr/share/containers/containers.conf") })
	path := filepath.Join(t.TempDir(), "containers.conf")
	writeFile(t, path, data, 0o644)
	return path
}

func TestContainersConfShim(t *testing.T) {
	for _, engine := range []Engine{Podman, Buildah} {
		for _, setDefault := range []bool{false, true} {
			t.Run(string(engine)+map[bool]string{false: "", true: "/set-default"}[setDefault], func(t *testing.T) {
				base := debianContainersConf(t)
				t.Setenv("CONTAINERS_CONF", base)
				t.Setenv("CONTAINERS_CONF_OVERRIDE", "")
				before, err := config.New(nil)
				if err != nil {
					t.Fatal(err)
				}
				bin := install(t, true)
				dropIn := filepath.Join(t.TempDir(), "containers.conf.d", "50-capgen-runc.conf")
				opts := Options{Engine: engine, Mode: Shim, Binary: bin, Config: dropIn, SetDefault: setDefault}
				roundTrip(t, opts, []string{dropIn}, func(t *testing.T) {
					cfg := loadContainersConf(t, base, dropIn)
					// Podman treats the shim as runc: the loaded list, and
					// the shim, as runc is in it.
					json := cfg.Engine.RuntimeSupportsJSON.Get()
					if want := append(before.Engine.RuntimeSupportsJSON.Get(), "capgen-runc"); !slices.Contains(want, "runc") || !slices.Equal(json, want) {
						t.Errorf("runtime_supports_json = %q, want %q", json, want)
					}
					if got, want := cfg.Engine.RuntimeSupportsNoCgroups.Get(), before.Engine.RuntimeSupportsNoCgroups.Get(); !slices.Equal(got, want) {
						t.Errorf("runtime_supports_nocgroups = %q, want %q, as runc is not in it", got, want)
					}
					shim := filepath.Join(filepath.Dir(bin), "capgen-runc")
					if got := cfg.Engine.OCIRuntimes["capgen-runc"]; !slices.Equal(got, []string{shim}) {
						t.Errorf("engine.runtimes capgen-runc = %q, want [%s]", got, shim)
					}
					if _, ok := cfg.Engine.OCIRuntimes["runc"]; !ok {
						t.Error("Debian's own runtimes are gone")
					}
					if (cfg.Engine.OCIRuntime == "capgen-runc") != setDefault {
						t.Errorf("engine.runtime = %q with set-default %v", cfg.Engine.OCIRuntime, setDefault)
					}
					if target, err := os.Readlink(shim); err != nil || target != "capshim" {
						t.Errorf("link %s -> %q (%v), want capshim", shim, target, err)
					}
				})
			})
		}
	}
}

// TestPodmanDefault checks that configure's default for Podman is the shim
// as its default runtime, which covers exec, and not the hook, which
// does not.
func TestPodmanDefault(t *testing.T) {
	base := debianContainersConf(t)
	t.Setenv("CONTAINERS_CONF", base)
	t.Setenv("CONTAINERS_CONF_OVERRIDE", "")
	bin := install(t, false)
	dropIn := filepath.Join(t.TempDir(), "50-capgen-runc.conf")
	roundTrip(t, Options{Engine: Podman, Binary: bin, Config: dropIn}, []string{dropIn}, func(t *testing.T) {
		cfg := loadContainersConf(t, base, dropIn)
		if cfg.Engine.OCIRuntime != "capgen-runc" || len(cfg.Engine.OCIRuntimes["capgen-runc"]) != 1 {
			t.Errorf("engine.runtime %q, runtimes[capgen-runc] %q; want the shim as the default runtime",
				cfg.Engine.OCIRuntime, cfg.Engine.OCIRuntimes["capgen-runc"])
		}
	})
}

func TestPodmanHook(t *testing.T) {
	base := debianContainersConf(t)
	t.Setenv("CONTAINERS_CONF", base)
	t.Setenv("CONTAINERS_CONF_OVERRIDE", "")
	bin := install(t, false)
	hooks := filepath.Join(t.TempDir(), "capgen-hooks.d")
	dropIn := filepath.Join(t.TempDir(), "50-capgen-hook.conf")
	opts := Options{Engine: Podman, Mode: Hook, Binary: bin, Config: dropIn, HooksDir: hooks}
	roundTrip(t, opts, []string{dropIn, filepath.Join(hooks, hookFileName)}, func(t *testing.T) {
		cfg := loadContainersConf(t, base, dropIn)
		if got, want := cfg.Engine.HooksDir.Get(), append(slices.Clone(config.DefaultHooksDirs), hooks); !slices.Equal(got, want) {
			t.Errorf("hooks_dir = %q, want %q", got, want)
		}
		data, err := os.ReadFile(filepath.Join(hooks, hookFileName))
		if err != nil {
			t.Fatal(err)
		}
		hook, err := hookschema.Read(data)
		if err != nil {
			t.Fatalf("hook file: %v\n%s", err, data)
		}
		if err := hook.Validate([]string{"precreate"}); err != nil {
			t.Errorf("containers/common refuses the hook file: %v", err)
		}
		if hook.Hook.Path != bin || !slices.Equal(hook.Hook.Args, []string{"capgen", "hook"}) || !slices.Equal(hook.Stages, []string{"precreate"}) {
			t.Errorf("hook file runs %s %q at %q", hook.Hook.Path, hook.Hook.Args, hook.Stages)
		}
		if _, err := os.Lstat(filepath.Join(filepath.Dir(bin), "capgen-runc")); err == nil {
			t.Error("hook mode made the shim link")
		}
	})
}

func TestDocker(t *testing.T) {
	populated := []byte("{\n  \"log-level\": \"warn\",\n  \"storage-driver\": \"overlay2\",\n  \"runtimes\": {\n    \"crun\": {\"path\": \"/usr/bin/crun\", \"runtimeArgs\": [\"--debug\"]}\n  }\n}\n")
	for _, tc := range []struct {
		name       string
		original   []byte // nil: no daemon.json
		setDefault bool
	}{
		{"absent", nil, false},
		{"empty object", []byte("{}\n"), true},
		{"populated", populated, false},
		{"populated/set-default", populated, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "docker", "daemon.json")
			if tc.original != nil {
				writeFile(t, path, tc.original, 0o600)
			}
			bin := install(t, false)
			opts := Options{Engine: Docker, Binary: bin, Config: path, SetDefault: tc.setDefault}
			roundTrip(t, opts, []string{path}, func(t *testing.T) {
				var got map[string]any
				data, _ := os.ReadFile(path)
				if err := json.Unmarshal(data, &got); err != nil {
					t.Fatalf("daemon.json is not JSON: %v", err)
				}
				var orig map[string]any
				json.Unmarshal(tc.original, &orig)
				for k, v := range orig {
					if k != "runtimes" && !jsonEqualAny(got[k], v) {
						t.Errorf("%s: %v, want %v", k, got[k], v)
					}
				}
				runtimes, _ := got["runtimes"].(map[string]any)
				if want := map[string]any{"path": filepath.Join(filepath.Dir(bin), "capgen-runc")}; !jsonEqualAny(runtimes["capgen-runc"], want) {
					t.Errorf("runtimes.capgen-runc = %v, want %v", runtimes["capgen-runc"], want)
				}
				if tc.original != nil && bytes.Contains(tc.original, []byte("crun")) && runtimes["crun"] == nil {
					t.Error("the file's own runtime crun is gone")
				}
				if (got["default-runtime"] == "capgen-runc") != tc.setDefault {
					t.Errorf("default-runtime = %v with set-default %v", got["default-runtime"], tc.setDefault)
				}
				if st, err := os.Stat(path); err == nil && tc.original != nil && st.Mode().Perm() != 0o600 {
					t.Errorf("daemon.json's mode became %v", st.Mode().Perm())
				}
			})
		})
	}
}

func jsonEqualAny(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestContainerd(t *testing.T) {
	defaults := realFile(t, "containerd config default", func() ([]byte, error) {
		return exec.Command("containerd", "config", "default").Output()
	})
	commented := append([]byte("# An administrator's comment, kept byte for byte.\n"), defaults...)
	for _, tc := range []struct {
		name     string
		original []byte
	}{
		{"absent", nil},
		{"containerd config default", defaults},
		{"with comments", commented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "containerd", "config.toml")
			if tc.original != nil {
				writeFile(t, path, tc.original, 0o644)
			}
			bin := install(t, true)
			roundTrip(t, Options{Engine: Containerd, Binary: bin, Config: path}, []string{path}, func(t *testing.T) {
				data, _ := os.ReadFile(path)
				if !bytes.HasPrefix(data, tc.original) {
					t.Errorf("config.toml no longer begins with the original bytes")
				}
				var c containerdConfig
				if _, err := toml.Decode(string(data), &c); err != nil {
					t.Fatalf("config.toml does not parse: %v", err)
				}
				h := c.handler("capgen-runc")
				if h.RuntimeType != "io.containerd.runc.v2" || h.Options.BinaryName != filepath.Join(filepath.Dir(bin), "capgen-runc") {
					t.Errorf("handler capgen-runc = %+v", h)
				}
				if tc.original != nil && c.handler("runc").RuntimeType != "io.containerd.runc.v2" {
					t.Errorf("the default handler runc is gone: %+v", c.handler("runc"))
				}
			})
		})
	}
}

// containerdV3 is a version 3 config.toml as containerd 2.x writes its
// CRI runtime half (single-quoted plugin names), abridged.
const containerdV3 = `version = 3

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false

    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc' # the administrator's comment

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes]
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
          runtime_type = 'io.containerd.runc.v2'

          [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
            SystemdCgroup = false
`

// TestContainerdVersions adds the handler to version 2, 3 and 4 configs
// in their own layout, with and without --set-default, which makes it the
// CRI's default_runtime_name; --remove gives every byte back.
func TestContainerdVersions(t *testing.T) {
	v2 := realFile(t, "containerd config default", func() ([]byte, error) {
		return exec.Command("containerd", "config", "default").Output()
	})
	v4 := strings.Replace(containerdV3, "version = 3", "version = 4", 1)
	noTable := "version = 3\n\n[plugins.'io.containerd.cri.v1.images']\n  snapshotter = 'overlayfs'\n"
	noKey := strings.Replace(containerdV3, "      default_runtime_name = 'runc' # the administrator's comment\n", "", 1)
	for _, tc := range []struct {
		name, original string
		version        int
	}{
		{"version 2, containerd 1.6's default", string(v2), 2},
		{"version 3", containerdV3, 3},
		{"version 4", v4, 4},
		{"version 3 without the CRI's containerd table", noTable, 3},
		{"version 3 without default_runtime_name", noKey, 3},
	} {
		for _, setDefault := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, set-default %v", tc.name, setDefault), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "config.toml")
				writeFile(t, path, []byte(tc.original), 0o644)
				bin := install(t, true)
				opts := Options{Engine: Containerd, Binary: bin, Config: path, SetDefault: setDefault}
				roundTrip(t, opts, []string{path}, func(t *testing.T) {
					data, _ := os.ReadFile(path)
					var c containerdConfig
					if _, err := toml.Decode(string(data), &c); err != nil {
						t.Fatalf("config.toml does not parse: %v\n%s", err, data)
					}
					if c.Version != tc.version {
						t.Errorf("version %d, want %d: configure never migrates", c.Version, tc.version)
					}
					if h := c.handler("capgen-runc"); h.RuntimeType != "io.containerd.runc.v2" || h.Options.BinaryName != filepath.Join(filepath.Dir(bin), "capgen-runc") {
						t.Errorf("handler capgen-runc in %s = %+v\n%s", criPlugin(tc.version), h, data)
					}
					if got := c.defaultRuntime(); (got == "capgen-runc") != setDefault {
						t.Errorf("default_runtime_name %q with set-default %v\n%s", got, setDefault, data)
					}
					if !setDefault && !bytes.HasPrefix(data, []byte(tc.original)) {
						t.Errorf("config.toml no longer begins with the original bytes")
					}
				})
			})
		}
	}
}

// TestCrio writes CRI-O's drop-in: the handler capgen-runc running the
// shim, and with --set-default CRI-O's default_runtime.
func TestCrio(t *testing.T) {
	for _, setDefault := range []bool{false, true} {
		t.Run(fmt.Sprintf("set-default %v", setDefault), func(t *testing.T) {
			bin := install(t, true)
			dropIn := filepath.Join(t.TempDir(), "crio.conf.d", "50-capgen-runc.conf")
			roundTrip(t, Options{Engine: Crio, Binary: bin, Config: dropIn, SetDefault: setDefault}, []string{dropIn}, func(t *testing.T) {
				var conf struct {
					Crio struct {
						Runtime struct {
							DefaultRuntime string `toml:"default_runtime"`
							Runtimes       map[string]struct {
								RuntimePath string `toml:"runtime_path"`
								RuntimeType string `toml:"runtime_type"`
								RuntimeRoot string `toml:"runtime_root"`
							} `toml:"runtimes"`
						} `toml:"runtime"`
					} `toml:"crio"`
				}
				if _, err := toml.DecodeFile(dropIn, &conf); err != nil {
					t.Fatal(err)
				}
				h := conf.Crio.Runtime.Runtimes["capgen-runc"]
				if h.RuntimePath != filepath.Join(filepath.Dir(bin), "capgen-runc") || h.RuntimeType != "oci" || h.RuntimeRoot != "/run/capgen-runc" {
					t.Errorf("runtimes.capgen-runc = %+v", h)
				}
				if (conf.Crio.Runtime.DefaultRuntime == "capgen-runc") != setDefault {
					t.Errorf("default_runtime %q with set-default %v", conf.Crio.Runtime.DefaultRuntime, setDefault)
				}
			})
		})
	}
}

// TestRefuses: configure edits nothing it cannot edit safely, and never
// writes into the hooks directories Podman and Buildah share.
func TestRefuses(t *testing.T) {
	bin := install(t, false)
	dir := t.TempDir()
	v1 := filepath.Join(dir, "v1.toml")
	writeFile(t, v1, []byte("[plugins.cri.containerd]\n  snapshotter = \"overlayfs\"\n"), 0o644)
	own := filepath.Join(dir, "own.toml")
	writeFile(t, own, []byte("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.capgen-runc]\n  runtime_type = \"x\"\n"), 0o644)
	v5 := filepath.Join(dir, "v5.toml")
	writeFile(t, v5, []byte("version = 5\n"), 0o644)
	notObject := filepath.Join(dir, "daemon.json")
	writeFile(t, notObject, []byte("[]\n"), 0o644)
	for _, tc := range []struct {
		name string
		opts Options
		want error
		text string
	}{
		{"hook for buildah", Options{Engine: Buildah, Mode: Hook, Binary: bin}, ErrUsage, "no precreate hooks"},
		{"shared hooks dir", Options{Engine: Podman, Binary: bin, HooksDir: "/usr/share/containers/oci/hooks.d/"}, ErrUsage, "share"},
		{"etc hooks dir", Options{Engine: Podman, Binary: bin, HooksDir: "/etc/containers/oci/hooks.d"}, ErrUsage, "share"},
		{"unknown engine", Options{Engine: "cri-o", Binary: bin}, ErrUsage, `"cri-o"`},
		{"runtime with a slash", Options{Engine: Docker, Binary: bin, Runtime: "../runc"}, ErrUsage, `"../runc"`},
		{"runtime quote", Options{Engine: Docker, Binary: bin, Runtime: `a"b`}, ErrUsage, `a\"b`},
		{"shim of a shim", Options{Engine: Docker, Binary: bin, Runtime: "capgen-runc"}, ErrUsage, "shim"},
		{"containerd version 5", Options{Engine: Containerd, Binary: bin, Config: v5}, ErrConfig, "newer than configure knows"},
		{"containerd version 1", Options{Engine: Containerd, Binary: bin, Config: v1}, ErrConfig, "version 0"},
		{"containerd handler of its own", Options{Engine: Containerd, Binary: bin, Config: own}, ErrConfig, "already defines"},
		{"daemon.json not an object", Options{Engine: Docker, Binary: bin, Config: notObject}, ErrConfig, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plan(tc.opts)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Plan: %v, want %v naming %s", err, tc.want, tc.text)
			}
		})
	}
}

// TestLinkOfItsOwn: an existing capgen-NAME link to the binary, relative
// or absolute, is configure's to keep or replace; anything else is not
// touched.
func TestLinkOfItsOwn(t *testing.T) {
	bin := install(t, true)
	link := filepath.Join(filepath.Dir(bin), "capgen-runc")
	config := filepath.Join(t.TempDir(), "daemon.json")
	for _, tc := range []struct {
		target string
		ok     bool
	}{{bin, true}, {"capgen", true}, {"capshim", true}, {"/usr/bin/runc", false}, {"../capgen", false}} {
		os.Remove(link)
		if err := os.Symlink(tc.target, link); err != nil {
			t.Fatal(err)
		}
		changes, err := Plan(Options{Engine: Docker, Binary: bin, Config: config})
		if (err == nil) != tc.ok {
			t.Errorf("link to %s: Plan: %v, want ok %v", tc.target, err, tc.ok)
		}
		if !tc.ok && !errors.Is(err, ErrConfig) {
			t.Errorf("link to %s: %v does not wrap ErrConfig", tc.target, err)
		}
		for _, c := range changes {
			if c.LinkTo != "" && string(c.New) != "capshim" {
				t.Errorf("link to %s: relinked to %s, want capshim", tc.target, c.New)
			}
		}
	}
}

// TestHookFileIsTheShippedOne: the hook file configure writes is
// cmd/capgen/hooks.d/99-capgen.json, the one docs/hook.md installs by hand,
// but for the binary's path.
func TestHookFileIsTheShippedOne(t *testing.T) {
	shipped, err := os.ReadFile("../../cmd/capgen/hooks.d/99-capgen.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := hookschema.Read(shipped)
	if err != nil {
		t.Fatal(err)
	}
	got, err := hookschema.Read(hookJSON(Options{Binary: want.Hook.Path}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("configure's hook file\n%+v\nis not the shipped one\n%+v", got, want)
	}
}
