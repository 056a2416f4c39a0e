package shim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/internal/shim/record"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/engine"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	"go.podman.io/common/pkg/config"
)

// shimFixture is a fake real runtime that logs its arguments, and a shim
// binary standing for capgen-<name> (only its identity matters here).
func shimFixture(t *testing.T, features string) (runtime, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "log")
	doc := filepath.Join(dir, "features.json")
	if err := os.WriteFile(doc, []byte(features), 0o644); err != nil {
		t.Fatal(err)
	}
	runtime = filepath.Join(dir, "fakerunc")
	script := "#!/bin/sh\n# runc 1.1.5's features, for the shim's tests.\necho \"$@\" >> '" + log + "'\n" +
		"[ \"$1\" = features ] && exec cat '" + doc + "'\nexit 0\n"
	if err := os.WriteFile(runtime, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return runtime, log
}

func allNamesFeatures() string {
	return `{"ociVersionMin":"1.0.0","linux":{"capabilities":["` +
		strings.Join(capnames.UpTo(capnames.Default().Last()).Strings(), `","`) + `"]},"annotations":{"org.opencontainers.runc.version":"1.1.5"}}`
}

func TestRunFeatures(t *testing.T) {
	runtime, _ := shimFixture(t, allNamesFeatures())
	var stdout bytes.Buffer
	opts, _ := testOptions(t, runtime)
	opts.Stdout = &stdout
	next, err := Run(context.Background(), []string{"features"}, opts)
	if err != nil || next != nil {
		t.Fatalf("Run(features) = %v, %v; want nil, nil", next, err)
	}
	var doc ociruntime.Document
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("features output: %v\n%s", err, stdout.Bytes())
	}
	if doc.Linux == nil || doc.Annotations[ociruntime.ShimAnnotation] != runtime ||
		doc.Annotations["org.opencontainers.runc.version"] != "1.1.5" {
		t.Errorf("features %s; want the runtime's with %s", stdout.Bytes(), ociruntime.ShimAnnotation)
	}
	// runtime-spec's schema: linux.capabilities holds names only; the
	// shim advertises ALL_CAPS in linux.capabilityExtensions, and no
	// numerals for runc 1.1.5, which takes none.
	for _, n := range doc.Linux.Capabilities {
		if !regexp.MustCompile(`^CAP_[A-Z_]+$`).MatchString(n) {
			t.Errorf("linux.capabilities lists %q, which the schema's pattern ^CAP_[A-Z_]+$ refuses", n)
		}
	}
	if x := doc.Linux.CapabilityExtensions; x == nil || x.AllCaps == nil || x.AllCaps.Enabled == nil || !*x.AllCaps.Enabled || x.Numerals != nil {
		t.Errorf("capabilityExtensions %+v; want allCaps enabled and no numerals", x)
	}
	// An engine probing the shim: a runtime printing what the shim printed.
	printer, _ := shimFixture(t, stdout.String())
	f, err := (&ociruntime.Prober{CacheDir: t.TempDir()}).Probe(context.Background(), printer)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Shim || !f.AllCaps || f.Unknown {
		t.Errorf("the shim's features parse to %+v; want Shim and AllCaps", f)
	}
}

func TestRunPassesThrough(t *testing.T) {
	runtime, _ := shimFixture(t, allNamesFeatures())
	for _, args := range [][]string{{"state", "x"}, {"--root", "/r", "delete", "--force", "x"}, {"--version"}, {"features", "--extra"}} {
		next, err := Run(context.Background(), args, Options{Runtime: runtime, Prober: &ociruntime.Prober{CacheDir: t.TempDir()}, LogFile: filepath.Join(t.TempDir(), "log"), RecordDir: t.TempDir()})
		if err != nil || next == nil || next.Path != runtime || !slices.Equal(next.Args, args) {
			t.Errorf("Run(%q) = %+v, %v; want %s with the same arguments", args, next, err, runtime)
		}
	}
}

// TestRunNeverItself: a name that resolves to the shim's own binary
// first on $PATH resolves to the next one.
func TestRunNeverItself(t *testing.T) {
	runtime, _ := shimFixture(t, allNamesFeatures())
	selfDir, realDir := t.TempDir(), t.TempDir()
	self := filepath.Join(selfDir, "runc")
	if err := os.WriteFile(self, []byte("#!/bin/sh\nexit 99\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(runtime, filepath.Join(realDir, "runc")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", selfDir+":"+realDir)
	conf := filepath.Join(t.TempDir(), "containers.conf")
	os.WriteFile(conf, []byte("[engine.runtimes]\nrunc = [\""+self+"\"]\n"), 0o644)
	t.Setenv("CONTAINERS_CONF", conf)
	cfg := mustConfig(t)
	next, err := Run(context.Background(), []string{"state", "x"}, Options{Runtime: "runc", Self: []string{self}, Lookup: engine.Lookup(cfg)})
	if err != nil || next.Path != filepath.Join(realDir, "runc") {
		t.Errorf("Run resolved runc to %+v, %v; want %s, passing over itself", next, err, filepath.Join(realDir, "runc"))
	}
	t.Setenv("PATH", selfDir)
	if _, err := Run(context.Background(), []string{"state", "x"}, Options{Runtime: "runc", Self: []string{self}, Lookup: engine.Lookup(cfg)}); !errors.Is(err, ociruntime.ErrRuntimeNotFound) {
		t.Errorf("with only itself to find: error %v, want ociruntime.ErrRuntimeNotFound", err)
	}
}

// TestRunRewrites: create rewrites the capabilities in the bundle and
// nothing else; a bad config.json is an error, with nothing to exec.
func TestRunRewrites(t *testing.T) {
	runtime, _ := shimFixture(t, allNamesFeatures())
	bundle := t.TempDir()
	config := filepath.Join(bundle, "config.json")
	in := `{"ociVersion":"1.0.2","x-vendor":{"keep":1},"process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/",` +
		`"capabilities":{"bounding":["ALL_CAPS","CAP_NOT_A_CAP"],"effective":["21"],"permitted":["CAP_CHOWN"]}}}`
	if err := os.WriteFile(config, []byte(in), 0o640); err != nil {
		t.Fatal(err)
	}
	opts, log := testOptions(t, runtime)
	next, err := Run(context.Background(), []string{"create", "--bundle", bundle, "id"}, opts)
	if err != nil || next == nil || next.Path != runtime {
		t.Fatalf("Run(create) = %+v, %v", next, err)
	}
	data, _ := os.ReadFile(config)
	var got struct {
		XVendor map[string]int `json:"x-vendor"`
		Process struct {
			Capabilities map[string][]string `json:"capabilities"`
		} `json:"process"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	host, err := plugin.HostEnv()
	if err != nil {
		t.Fatal(err)
	}
	wantBounding := capnames.UpTo(host.KernelLast).Intersect(host.Bounding).Strings()
	if c := got.Process.Capabilities; !slices.Equal(c["bounding"], wantBounding) || !slices.Equal(c["effective"], []string{"CAP_SYS_ADMIN"}) ||
		!slices.Equal(c["permitted"], []string{"CAP_CHOWN"}) {
		t.Errorf("capabilities %v; want bounding kernel ∩ bounding set, effective CAP_SYS_ADMIN, permitted CAP_CHOWN", c)
	}
	if got.XVendor["keep"] != 1 {
		t.Errorf("x-vendor lost: %s", data)
	}
	if st, _ := os.Stat(config); st.Mode().Perm() != 0o640 {
		t.Errorf("config.json mode %v, want 0640", st.Mode().Perm())
	}
	if !strings.Contains(readFile(t, log), "CAP_NOT_A_CAP") {
		t.Errorf("no warning about the dropped entry in the shim's log: %q", readFile(t, log))
	}

	for _, bad := range []string{`not json`, `{"ociVersion":"1.0.2","process":{"capabilities":{"bounding":[7]}}}`, `{"ociVersion":"2.0"}`} {
		os.WriteFile(config, []byte(bad), 0o644)
		next, err := Run(context.Background(), []string{"create", "--bundle", bundle, "id"}, opts)
		if next != nil || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), config) {
			t.Errorf("config %q: Run = %+v, %v; want no exec and an error naming %s", bad, next, err, config)
		}
	}
}

// testOptions returns the options of a shim for runtime whose probe cache,
// log and records are in temporary directories, and the log's path.
func testOptions(t *testing.T, runtime string) (Options, string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "shim.log")
	return Options{Runtime: runtime, Prober: &ociruntime.Prober{CacheDir: filepath.Join(dir, "cache")},
		LogFile: log, RecordDir: filepath.Join(dir, "records")}, log
}

// readFile returns the contents of path, "" when it does not exist.
func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

// mustConfig loads containers.conf as an engine does.
func mustConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRunNeverWidens: annotations that make the hook widen are ignored
// by the shim, with a warning: an engine may pass them from users or images.
func TestRunNeverWidens(t *testing.T) {
	runtime, _ := shimFixture(t, allNamesFeatures())
	bundle := t.TempDir()
	config := filepath.Join(bundle, "config.json")
	in := `{"ociVersion":"1.0.2","annotations":{"io.podman.annotations.privileged":"TRUE","io.github.capgen-dev.capabilities":"all"},` +
		`"process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/","capabilities":{"bounding":["CAP_CHOWN"],"effective":["CAP_CHOWN"],"permitted":["CAP_CHOWN"]}}}`
	if err := os.WriteFile(config, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, log := testOptions(t, runtime)
	if _, err := Run(context.Background(), []string{"create", "--bundle", bundle, "id"}, opts); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(config)
	var got struct {
		Process struct {
			Capabilities map[string][]string `json:"capabilities"`
		} `json:"process"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	for _, list := range []string{"bounding", "effective", "permitted"} {
		if l := got.Process.Capabilities[list]; !slices.Equal(l, []string{"CAP_CHOWN"}) {
			t.Errorf("%s = %q; the shim widened it", list, l)
		}
	}
	for _, w := range []string{`capabilities=\"all\" ignored`, `privileged=\"TRUE\" not trusted`} {
		if !strings.Contains(readFile(t, log), w) {
			t.Errorf("no warning %q in the shim's log: %q", w, readFile(t, log))
		}
	}
}

// TestRunNeverPassesThroughUnread: whatever global options come before
// create, run or exec — runc's, crun's and runsc's, as "--name value",
// "--name=value", "-name value" or a boolean, and options the shim does not
// know — the shim either rewrites the spec, the process or the --cap
// values, or fails naming the option; it never hands the command to the
// runtime unread. The runtime is a fake named runc, crun or runsc whose
// features list every name (runc 1.1.5's); the grammars are checked
// against the real runsc in internal/shim/record.
func TestRunNeverPassesThroughUnread(t *testing.T) {
	fake, _ := shimFixture(t, allNamesFeatures())
	globals := map[string][][]string{
		"runc": {{"--root", "/r"}, {"--log=/l"}, {"--log-format", "json"}, {"--systemd-cgroup"}, {"--debug"}, {"--rootless", "auto"},
			{"--criu", "/c"}, {"-root", "/r"}},
		"crun": {{"--cgroup-manager", "disabled"}, {"--log-level=debug"}, {"--rootless", "true"}, {"--systemd-cgroup"}},
		"runsc": {{"--network", "none"}, {"--network=none"}, {"-network", "none"}, {"--platform", "ptrace"}, {"--debug-log", "/tmp/d/"},
			{"--root", "/r"}, {"--rootless"}, {"--net-raw"}, {"--debug"}, {"-strace"}, {"--overlay2", "root:memory"}},
	}
	unknown := [][]string{{"--brand-new", "x"}, {"--brand-new"}, {"--brand-new=x"}, {"-x", "y"}}
	refused, read := 0, 0
	for name, forms := range globals {
		dir := t.TempDir()
		runtime := filepath.Join(dir, name)
		if err := os.Symlink(fake, runtime); err != nil {
			t.Fatal(err)
		}
		opts, _ := testOptions(t, runtime)
		for _, g := range append(forms, unknown...) {
			for _, command := range []string{"create", "run", "exec"} {
				bundle := t.TempDir()
				config := writeConfig(t, bundle, `{"ociVersion":"1.0.2","process":{"cwd":"/","capabilities":{"bounding":["ALL_CAPS"]}}}`)
				rest := []string{"--bundle", bundle, "id"}
				if command == "exec" {
					rest = []string{"--cap", "ALL_CAPS", "id", "sh"}
				}
				args := slices.Concat(g, []string{command}, rest)
				next, err := Run(context.Background(), args, opts)
				if err != nil {
					refused++
				} else {
					read++
				}
				switch {
				case err != nil:
					if !errors.Is(err, record.ErrCommandLine) || !strings.Contains(err.Error(), g[0]) {
						t.Errorf("%s %q: %v; want an error naming %s", name, args, err, g[0])
					}
				case command == "exec":
					if slices.Contains(next.Args, capnames.AllCaps) {
						t.Errorf("%s %q: exec passed through with --cap ALL_CAPS: %q", name, args, next.Args)
					}
				case strings.Contains(readFile(t, config), capnames.AllCaps):
					t.Errorf("%s %q: %s passed through with its spec unread", name, args, command)
				}
			}
		}
	}
	// "--brand-new x create" and "--brand-new create" are refused, the
	// others read.
	if refused != 3*3*3 || read == 0 {
		t.Errorf("%d command lines refused, %d read; want 27 refused (the unknown options without =, before create, run, exec)", refused, read)
	}
}
