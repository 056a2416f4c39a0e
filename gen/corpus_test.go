package gen

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// update rewrites the golden files of the package's tests: the corpus
// JSON here and the generator output in emit_test.go.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// corpusRoot holds real kernel capability headers, one directory each, and
// MANIFEST.tsv describing them. It is shared between projects and never
// copied into the repository.
const corpusRoot = "../../shared/testdata/kernel-headers"

// upstream lists the capabilities of mainline Linux by value, written out
// from the kernel's documentation and not from any parser output.
var upstream = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
	"CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// corpusWant is what a corpus header must parse to, written from reading
// the header.
type corpusWant struct {
	names   []string // capability names; the index is the value
	lastCap string   // the name CAP_LAST_CAP names; "" when the header has none
	err     string   // the whole error message, with %[1]s for the path
}

var corpusWants = map[string]corpusWant{
	"2.6.9-rhel4": {names: upstream[:31]},
	// OpenVZ gives CAP_SETVEID the value of CAP_AUDIT_WRITE (and
	// CAP_VE_ADMIN that of CAP_AUDIT_CONTROL): the first is an error.
	"2.6.18.8-openvz": {err: "%[1]s:293: invalid capability header: CAP_SETVEID and CAP_AUDIT_WRITE (%[1]s:280) both have value 29"},
	// CAP_SYSLOG (34) backported from 2.6.37.
	"2.6.35.11-android-msm":       {names: upstream[:35], lastCap: "CAP_SYSLOG"},
	"3.0.101-android-samsung":     {names: upstream[:37], lastCap: "CAP_BLOCK_SUSPEND"},
	"3.10.0-862.6.3-rhel7-openvz": {names: upstream[:37], lastCap: "CAP_BLOCK_SUSPEND"},
	// Committed with unresolved conflict markers; the first is on line 311.
	"3.10.108+3.18.0-merge-conflict-msm8916": {err: `%[1]s:311: invalid capability header: merge conflict marker "<<<<<<< HEAD"`},
	"4.4.302-android-msm8996":                {names: upstream[:38], lastCap: "CAP_AUDIT_READ"},
	"5.8-layout-foundriesio":                 {names: upstream[:40], lastCap: "CAP_BPF"},
	"6.1.187-debian":                         {names: upstream[:41], lastCap: "CAP_CHECKPOINT_RESTORE"},
	"6.x-bpf-ci-sys-control":                 {names: append(slices.Clip(upstream), "CAP_SYS_CONTROL"), lastCap: "CAP_SYS_CONTROL"},
}

// corpus returns the corpus directory, skipping the test when it is absent
// unless CAPGEN_REQUIRE_CORPUS=1.
func corpus(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(corpusRoot, "MANIFEST.tsv")); err != nil {
		if os.Getenv("CAPGEN_REQUIRE_CORPUS") == "1" {
			t.Fatalf("kernel header corpus required (CAPGEN_REQUIRE_CORPUS=1): %v", err)
		}
		t.Skipf("kernel header corpus absent: %v", err)
	}
	return corpusRoot
}

// manifestRow is the part of a MANIFEST.tsv row the tests check against.
type manifestRow struct {
	numericDefines int    // cap_numeric_defines
	lastCap        string // cap_last_cap: "NAME=VALUE", "none" or a note
}

func readManifest(t *testing.T, dir string) map[string]manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma, r.LazyQuotes = '\t', true
	records, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := make(map[string]int)
	for i, name := range records[0] {
		col[name] = i
	}
	rows := make(map[string]manifestRow)
	for _, rec := range records[1:] {
		n, err := strconv.Atoi(rec[col["cap_numeric_defines"]])
		if err != nil {
			t.Fatalf("MANIFEST.tsv %s: cap_numeric_defines: %v", rec[col["version"]], err)
		}
		rows[rec[col["version"]]] = manifestRow{numericDefines: n, lastCap: rec[col["cap_last_cap"]]}
	}
	return rows
}

// numericDefine matches a line defining a CAP_ name as a decimal number, a
// check of the parser that shares none of its code.
var numericDefine = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*define[ \t]+(CAP_[A-Z0-9_]+)[ \t]+([0-9]+)[ \t]*$`)

func TestCorpus(t *testing.T) {
	dir := corpus(t)
	manifest := readManifest(t, dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	for name := range manifest {
		if !slices.Contains(dirs, name) {
			t.Errorf("MANIFEST.tsv lists %s, which has no directory", name)
		}
	}
	for _, name := range dirs {
		t.Run(name, func(t *testing.T) {
			want, ok := corpusWants[name]
			if !ok {
				t.Fatalf("no expectation for corpus header %s: read it and add one to corpusWants", name)
			}
			row, ok := manifest[name]
			if !ok {
				t.Fatalf("%s is not in MANIFEST.tsv", name)
			}
			path := filepath.Join(dir, name, "capability.h")
			h, err := ReadHeader(path, "")
			if want.err != "" {
				if got, want := fmt.Sprint(err), fmt.Sprintf(want.err, path); got != want {
					t.Errorf("got error %s\nwant       %s", got, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkCorpusHeader(t, h, want, row)
			checkDefineLines(t, h, path)
			checkGolden(t, h, filepath.Join("testdata", "corpus", name+".json"))
		})
	}
}

// checkCorpusHeader compares h with the expectation and the manifest.
func checkCorpusHeader(t *testing.T, h *Header, want corpusWant, row manifestRow) {
	t.Helper()
	var got []string
	for i, c := range h.Capabilities {
		if c.Value != i {
			t.Fatalf("capability %s has value %d, want %d", c.Name, c.Value, i)
		}
		got = append(got, c.Name)
	}
	if !slices.Equal(got, want.names) {
		t.Errorf("capabilities\ngot  %v\nwant %v", got, want.names)
	}
	if len(got) != row.numericDefines {
		t.Errorf("%d capabilities, MANIFEST.tsv counts %d numeric defines", len(got), row.numericDefines)
	}
	if h.Last != len(want.names)-1 {
		t.Errorf("Last = %d, want %d", h.Last, len(want.names)-1)
	}
	if want.lastCap == "" {
		if row.lastCap != "none" {
			t.Errorf("MANIFEST.tsv says cap_last_cap %s, the expectation none", row.lastCap)
		}
		if len(h.Aliases) != 0 {
			t.Errorf("aliases %v, want none", h.Aliases)
		}
		return
	}
	if manifestLast := fmt.Sprintf("%s=%d", want.lastCap, h.Last); row.lastCap != manifestLast {
		t.Errorf("MANIFEST.tsv says cap_last_cap %s, want %s", row.lastCap, manifestLast)
	}
	if wantAliases := map[string]string{"CAP_LAST_CAP": want.lastCap}; !maps.Equal(h.Aliases, wantAliases) {
		t.Errorf("aliases %v, want %v", h.Aliases, wantAliases)
	}
}

// checkDefineLines checks each capability's Line against the file itself, and
// the capabilities against a plain regular expression over the file.
func checkDefineLines(t *testing.T, h *Header, path string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	for _, c := range h.Capabilities {
		f := strings.Fields(lines[c.Line-1])
		if !slices.Contains(f, c.Name) || !slices.Contains(f, strconv.Itoa(c.Value)) {
			t.Errorf("%s (%d) at line %d, which is %q", c.Name, c.Value, c.Line, lines[c.Line-1])
		}
	}
	var fromRegexp []string
	for _, m := range numericDefine.FindAllStringSubmatch(string(src), -1) {
		fromRegexp = append(fromRegexp, m[1]+"="+m[2])
	}
	var parsed []string
	for _, c := range h.Capabilities {
		parsed = append(parsed, fmt.Sprintf("%s=%d", c.Name, c.Value))
	}
	slices.Sort(fromRegexp)
	slices.Sort(parsed)
	if !slices.Equal(fromRegexp, parsed) {
		t.Errorf("parsed %v\nregexp %v", parsed, fromRegexp)
	}
}

// checkGolden compares the JSON of h with the golden file, or rewrites the
// file with -update.
func checkGolden(t *testing.T, h *Header, golden string) {
	t.Helper()
	got, err := json.MarshalIndent(h, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./gen -run TestCorpus -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("JSON differs from %s (go test ./gen -run TestCorpus -update rewrites it):\n%s", golden, got)
	}
}

// TestCorpusOpenVZRenumbered parses the OpenVZ header with its two
// VE capabilities moved off the values they share, to check the rest of it:
// the CAP_VE_* aliases under #ifdef CONFIG_VE inside __KERNEL__.
func TestCorpusOpenVZRenumbered(t *testing.T) {
	dir := corpus(t)
	src, err := os.ReadFile(filepath.Join(dir, "2.6.18.8-openvz", "capability.h"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fix := range [][2]string{{"CAP_SETVEID\t     29", "CAP_SETVEID\t     31"}, {"CAP_VE_ADMIN\t     30", "CAP_VE_ADMIN\t     32"}} {
		if bytes.Count(src, []byte(fix[0])) != 1 {
			t.Fatalf("header does not have exactly one %q", fix[0])
		}
		src = bytes.Replace(src, []byte(fix[0]), []byte(fix[1]), 1)
	}
	h, err := ParseHeader("openvz.h", src)
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clip(upstream[:31]), "CAP_SETVEID", "CAP_VE_ADMIN")
	var got []string
	for _, c := range h.Capabilities {
		got = append(got, c.Name)
	}
	if !slices.Equal(got, want) || h.Last != 32 {
		t.Errorf("got %v, last %d; want %v, last 32", got, h.Last, want)
	}
	// Both VE aliases name CAP_VE_ADMIN under CONFIG_VE and an upstream
	// capability otherwise, so neither is recorded.
	if len(h.Aliases) != 0 {
		t.Errorf("aliases %v, want none", h.Aliases)
	}
	wantWarnings := []string{
		"CAP_VE_NET_ADMIN names different capabilities under different preprocessor conditions (lines 310 and 326); not recorded as an alias",
		"CAP_VE_SYS_ADMIN names different capabilities under different preprocessor conditions (lines 324 and 327); not recorded as an alias",
		"no CAP_LAST_CAP (as before Linux 2.6.25): the last capability is the largest, CAP_VE_ADMIN (32)",
	}
	if !slices.Equal(h.Warnings, wantWarnings) {
		t.Errorf("warnings\ngot  %q\nwant %q", h.Warnings, wantWarnings)
	}
}

// TestSystemHeader parses this machine's installed header, which
// linux-libc-dev provides.
func TestSystemHeader(t *testing.T) {
	const path = "/usr/include/linux/capability.h"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no system header: %v", err)
	}
	if _, err := os.Stat("/usr/include/linux/version.h"); err != nil {
		t.Skipf("no system version.h: %v", err)
	}
	h, err := ReadHeader(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Capabilities) != 41 || h.Last != 40 || h.Aliases["CAP_LAST_CAP"] != "CAP_CHECKPOINT_RESTORE" {
		t.Errorf("got %d capabilities, last %d, aliases %v; want 41, 40, CAP_LAST_CAP=CAP_CHECKPOINT_RESTORE",
			len(h.Capabilities), h.Last, h.Aliases)
	}
	for i, c := range h.Capabilities {
		if i < len(upstream) && (c.Name != upstream[i] || c.Value != i) {
			t.Errorf("capability %d is %s, want %s", c.Value, c.Name, upstream[i])
		}
	}
	if !regexp.MustCompile(`^[1-9][0-9]*\.[0-9]+\.[0-9]+$`).MatchString(h.Version) {
		t.Errorf("Version = %q, want MAJOR.PATCHLEVEL.SUBLEVEL", h.Version)
	}
}
