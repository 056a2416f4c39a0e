package gen

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// goldenTable has a gap and an unnamed since, as a vendor table may.
var goldenTable = &Table{Kernel: "6.6.0", Capabilities: []Entry{
	{Name: "CAP_CHOWN", Value: 0, Since: "2.2"},
	{Name: "CAP_CHECKPOINT_RESTORE", Value: 40, Since: "5.9"},
	{Name: "CAP_SYS_CONTROL", Value: 41, Since: "6.6"},
	{Name: "CAP_BLOCK_ADMIN", Value: 61, Since: ""},
}}

func TestEmitGoGolden(t *testing.T) {
	for _, tc := range []struct{ golden, pkgPath, pkgName string }{
		{"capnames.go.golden", CapnamesPath, "capnames"},
		{"vendorcaps.go.golden", "example.com/kernel/vendorcaps", "vendorcaps"},
	} {
		t.Run(tc.pkgName, func(t *testing.T) {
			got, err := EmitGo(goldenTable, tc.pkgPath, tc.pkgName)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := EmitGo(goldenTable, tc.pkgPath, tc.pkgName)
			if !bytes.Equal(got, again) {
				t.Error("two generations differ")
			}
			if !bytes.HasPrefix(got, []byte("// "+GeneratedHeader+"\n")) {
				t.Errorf("output does not start with the generated-code header:\n%s", got)
			}
			compareGolden(t, filepath.Join("testdata", "golden", tc.golden), got)
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test ./gen -update rewrites it):\n%s", path, got)
	}
}

// TestCommittedTableIsGenerated checks that capnames/zz_generated.go is what
// the emitter makes of capnames/capabilities.json.
func TestCommittedTableIsGenerated(t *testing.T) {
	table, err := ReadTable("../capnames/capabilities.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := EmitGo(table, CapnamesPath, "capnames")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../capnames/zz_generated.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("capnames/zz_generated.go is not the generation of capabilities.json; run hack/update-capnames.sh")
	}
	raw, _ := os.ReadFile("../capnames/capabilities.json")
	if !bytes.Equal(raw, table.MarshalIndent()) {
		t.Error("capnames/capabilities.json is not in canonical form; run hack/update-capnames.sh")
	}
}

func TestEmitGoRejectsPackageName(t *testing.T) {
	for _, name := range []string{"", "_", "func", "my-table", "1table", "cap names"} {
		src, err := EmitGo(goldenTable, "example.com/x", name)
		if err == nil {
			t.Errorf("package %q: emitted\n%s", name, src)
		} else if !strings.Contains(err.Error(), strconv.Quote(name)) || strings.Contains(err.Error(), "CAP_") {
			t.Errorf("package %q: err = %v, want a short error quoting the name", name, err)
		}
	}
}

func TestEmitGoRejects(t *testing.T) {
	for name, table := range map[string]*Table{
		"empty":     {Kernel: "6.1"},
		"duplicate": {Capabilities: []Entry{{Name: "CAP_A", Value: 1}, {Name: "CAP_A", Value: 2}}},
		"bad name":  {Capabilities: []Entry{{Name: "CAP_A;os.Exit(1)", Value: 1}}},
		"bad since": {Capabilities: []Entry{{Name: "CAP_A", Value: 1, Since: `"+x+"`}}},
	} {
		if src, err := EmitGo(table, CapnamesPath, "capnames"); err == nil {
			t.Errorf("%s: emitted\n%s", name, src)
		} else if !strings.Contains(err.Error(), "invalid capability table") {
			t.Errorf("%s: err = %v, want ErrInvalidTableFile", name, err)
		}
	}
}

// TestCommittedTableAgreesWithManPage checks the committed since-versions
// against Debian's capabilities(7), entry by entry.
func TestCommittedTableAgreesWithManPage(t *testing.T) {
	f, err := os.Open("/usr/share/man/man7/capabilities.7.gz")
	if err != nil {
		t.Skip("capabilities(7) not installed (Debian package manpages):", err)
	}
	defer f.Close()
	man, err := ParseManPage(f)
	if err != nil {
		t.Fatal(err)
	}
	table, err := ReadTable("../capnames/capabilities.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range table.Capabilities {
		if since, ok := man[e.Name]; ok && since != e.Since {
			t.Errorf("%s: since %q in the table, %q in capabilities(7)", e.Name, e.Since, since)
		}
	}
	if len(table.Capabilities) < len(man) {
		t.Errorf("the table has %d capabilities, capabilities(7) describes %d", len(table.Capabilities), len(man))
	}
}
