package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/gen"
	"github.com/capgen-dev/capgen/internal/configure"
	"github.com/capgen-dev/capgen/plugin"
)

// runCapgen runs the command in-process with args and returns its output.
func runCapgen(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := newRootCommand()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.Execute()
	return out.String(), err
}

const corpusDir = "../../../shared/testdata/kernel-headers"

// corpusHeaders returns the shared header corpus, skipping the test when it
// is absent unless CAPGEN_REQUIRE_CORPUS=1.
func corpusHeaders(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(corpusDir, "*", "capability.h"))
	if err == nil && len(dirs) == 0 {
		err = os.ErrNotExist
	}
	if err != nil {
		if os.Getenv("CAPGEN_REQUIRE_CORPUS") == "1" {
			t.Fatalf("header corpus %s: %v (CAPGEN_REQUIRE_CORPUS=1)", corpusDir, err)
		}
		t.Skipf("header corpus %s: %v", corpusDir, err)
	}
	return dirs
}

// TestParseJSONCorpus checks that `capgen parse --json` prints, for every
// corpus header, the result the parser's golden file records, and fails on
// the headers the parser rejects.
func TestParseJSONCorpus(t *testing.T) {
	for _, path := range corpusHeaders(t) {
		version := filepath.Base(filepath.Dir(path))
		t.Run(version, func(t *testing.T) {
			out, err := runCapgen(t, "parse", "--json", path)
			want, direct := gen.ReadHeader(path, "")
			if direct != nil {
				if err == nil || !strings.Contains(err.Error(), direct.Error()) {
					t.Fatalf("parse --json: err = %v, want the parser's %v", err, direct)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got gen.Header
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			golden, err := os.ReadFile(filepath.Join("../../gen/testdata/corpus", version+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var fromGolden gen.Header
			if err := json.Unmarshal(golden, &fromGolden); err != nil {
				t.Fatal(err)
			}
			// The golden file was made from the gen package's directory.
			if filepath.Base(filepath.Dir(got.File)) != version {
				t.Errorf("file %q does not name the header", got.File)
			}
			got.File = fromGolden.File
			gotJSON, _ := json.Marshal(got)
			goldenJSON, _ := json.Marshal(fromGolden)
			if !bytes.Equal(gotJSON, goldenJSON) {
				t.Errorf("parse --json:\n%s\nwant (golden)\n%s", gotJSON, goldenJSON)
			}
			if got.Last != want.Last || len(got.Capabilities) != len(want.Capabilities) {
				t.Errorf("last %d with %d capabilities, want %d with %d", got.Last, len(got.Capabilities), want.Last, len(want.Capabilities))
			}
		})
	}
}

func TestParseRejectsBadHeader(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "capability.h")
	os.WriteFile(bad, []byte("#define CAP_A 1\n#define CAP_B 1\n"), 0o644)
	_, err := runCapgen(t, "parse", "--json", bad)
	if err == nil || !strings.Contains(err.Error(), bad+":2") {
		t.Errorf("err = %v, want one naming %s:2", err, bad)
	}
}

// scratchCheckout lays out a copy of the committed table in a directory
// that looks like a capgen checkout, and returns its capnames directory.
func scratchCheckout(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, committedDir)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+modulePath+"\n"), 0o644)
	for _, name := range []string{tableFile, generatedFile} {
		b, err := os.ReadFile(filepath.Join("../../capnames", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	return dir
}

func TestVerify(t *testing.T) {
	edit := func(name, old, new string) func(string) {
		return func(dir string) {
			p := filepath.Join(dir, name)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644)
		}
	}
	for _, tc := range []struct {
		name   string
		change func(dir string)
		header string
		want   string // "" for success
	}{
		{"clean", func(string) {}, "", ""},
		{"go edited", edit(generatedFile, `Since: "5.8"`, `Since: "5.7"`), "", "zz_generated.go differs from a fresh generation"},
		{"go appended", func(dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, generatedFile), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("// extra\n")
			f.Close()
		}, "", "zz_generated.go differs"},
		{"json reformatted", edit(tableFile, `"value": 0,`, `"value":0,`), "", "capabilities.json differs"},
		{"header has more", func(string) {}, "newer.h", "newer.h:3 defines CAP_NEWER = 41, which the table lacks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := scratchCheckout(t)
			tc.change(dir)
			header := ""
			if tc.header != "" {
				header = filepath.Join(t.TempDir(), tc.header)
				os.WriteFile(header, []byte("#define CAP_CHOWN 0\n#define CAP_CHECKPOINT_RESTORE 40\n#define CAP_NEWER 41\n"), 0o644)
			}
			var out bytes.Buffer
			err := runVerify(&out, dir, header)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("verify failed: %v\n%s", err, &out)
				}
				return
			}
			if err == nil || !strings.Contains(out.String(), tc.want) || !strings.Contains(out.String(), updateScript) {
				t.Errorf("err = %v, output:\n%s\nwant failure saying %q and naming %s", err, &out, tc.want, updateScript)
			}
		})
	}
}

// TestGenerateVendorPackage generates a table for a fork with a capability
// of its own into a package of another module, and builds and runs a
// program using it, while the committed table stays untouched.
func TestGenerateVendorPackage(t *testing.T) {
	header := filepath.Join(t.TempDir(), "capability.h")
	os.WriteFile(header, []byte(vendorHeader), 0o644)
	before, _ := os.ReadFile("../../capnames/capabilities.json")

	mod := t.TempDir()
	out := filepath.Join(mod, "vendorcaps")
	report, err := runCapgen(t, "generate", "--header", header+"=6.6", "--out", out)
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, report)
	}
	for _, want := range []string{"new table: 43 capabilities, last CAP_BLOCK_ADMIN", "(Linux 6.6): 43 capabilities, last 61"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	after, _ := os.ReadFile("../../capnames/capabilities.json")
	if !bytes.Equal(before, after) {
		t.Fatal("generating a vendor table changed capnames/capabilities.json")
	}

	repo, _ := filepath.Abs("../..")
	goSum, _ := os.ReadFile(filepath.Join(repo, "go.sum"))
	os.WriteFile(filepath.Join(mod, "go.sum"), goSum, 0o644)
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/fork\n\ngo 1.26\n\nrequire "+modulePath+
		" v0.0.0\n\nreplace "+modulePath+" => "+repo+"\n"), 0o644)
	os.MkdirAll(filepath.Join(mod, "cmd"), 0o755)
	os.WriteFile(filepath.Join(mod, "cmd", "main.go"), []byte(vendorMain), 0o644)
	run := exec.Command("go", "run", "./cmd")
	run.Dir = mod
	run.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	got, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("building the generated package: %v\n%s", err, got)
	}
	if want := "CAP_SYS_CONTROL 41 6.6\nCAP_BLOCK_ADMIN 61 6.6\n41 true\n"; string(got) != want {
		t.Errorf("program printed %q, want %q", got, want)
	}
	if capnames.Default().Last() != capnames.Last {
		t.Error("the upstream table changed")
	}
}

// vendorHeader is a fork's header: the upstream capabilities up to 40, one
// more on 41 and one far above with a gap.
var vendorHeader = func() string {
	var b strings.Builder
	for _, e := range capnames.Default().Entries() {
		fmt.Fprintf(&b, "#define %s %d\n", e.Name, e.Value)
	}
	b.WriteString("#define CAP_SYS_CONTROL 41\n#define CAP_BLOCK_ADMIN 61\n#define CAP_LAST_CAP CAP_BLOCK_ADMIN\n")
	return b.String()
}()

const vendorMain = `package main

import (
	"fmt"

	"example.com/fork/vendorcaps"
)

func main() {
	for _, name := range []string{"CAP_SYS_CONTROL", "block_admin"} {
		c, err := vendorcaps.Table().Parse(name)
		if err != nil {
			panic(err)
		}
		e, _ := vendorcaps.Table().Lookup(c)
		fmt.Println(e.Name, int(c), e.Since)
	}
	fmt.Println(int(vendorcaps.CAP_SYS_CONTROL), vendorcaps.Last == vendorcaps.CAP_BLOCK_ADMIN)
}
`

func TestList(t *testing.T) {
	out, err := runCapgen(t, "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []listRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	last, err := capnames.KernelLast()
	if err != nil {
		t.Fatal(err)
	}
	bounding, _ := capnames.Bounding()
	if want := int(max(last, capnames.Last)) + 1; len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	for i, r := range rows {
		c := capnames.Cap(i)
		if r.Value != c || r.Name != c.String() || r.Since != c.Since() || r.Kernel != (c <= last) || r.Bounding != bounding.Has(c) {
			t.Errorf("row %d = %+v", i, r)
		}
	}
	text, err := runCapgen(t, "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != len(rows)+1 || !strings.HasPrefix(lines[0], "NUM  NAME") {
		t.Errorf("text output has %d lines, header %q", len(lines), lines[0])
	}
}

func TestAddRuntimeColumn(t *testing.T) {
	rows := []listRow{{Value: 0, Name: "CAP_CHOWN"}, {Value: 38, Name: "CAP_PERFMON"}, {Value: 41, Name: "41"}}
	for _, tc := range []struct {
		features plugin.Features
		want     []string
	}{
		{plugin.Features{Names: []string{"CAP_CHOWN"}}, []string{"name", "no", "no"}},
		{plugin.Features{Names: []string{"CAP_CHOWN"}, Numerals: true}, []string{"name", "numeral", "numeral"}},
		{plugin.Features{Unknown: true, Numerals: true}, []string{"assumed", "assumed", "numeral"}},
		{plugin.Features{Unknown: true}, []string{"assumed", "assumed", "no"}},
	} {
		addRuntimeColumn(rows, &tc.features)
		for i, r := range rows {
			if r.Runtime != tc.want[i] {
				t.Errorf("%+v: %s is %q, want %q", tc.features, r.Name, r.Runtime, tc.want[i])
			}
		}
	}
}

// TestConfigureDryRun: --dry-run prints the diff and changes nothing; a
// real run then says what it did and that dockerd must be restarted, and
// a second one that nothing changed.
func TestConfigureDryRun(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "capgen")
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(config, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := configure.Options{Engine: configure.Docker, Binary: bin, Config: config}
	var out bytes.Buffer
	if err := runConfigure(&out, opts, true); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(config); string(data) != "{}\n" || !strings.Contains(out.String(), `+            "path": "`+filepath.Join(dir, "capgen-runc")+`"`) {
		t.Errorf("dry run: daemon.json %q, printed:\n%s", data, out.String())
	}
	if _, err := os.Lstat(filepath.Join(dir, "capgen-runc")); err == nil {
		t.Error("dry run made the link")
	}
	for _, want := range []string{"restart dockerd", "nothing changed"} {
		out.Reset()
		if err := runConfigure(&out, opts, false); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("configure printed:\n%s\nwant %q", out.String(), want)
		}
	}
}
