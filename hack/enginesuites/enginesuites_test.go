package main

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadTAP(t *testing.T) {
	got, err := readTAP(write(t, "r.tap", "1..4\nok 1 run --cap-add/--cap-drop\r\nnot ok 2 run-inheritable-capabilities\n"+
		"# (from function `die' ...)\nok 3 [800] podman --module - supported fields # skip (remote)\nok 4 name with # inside\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkOutcomes(t, got, map[string]string{"run --cap-add/--cap-drop": passed, "run-inheritable-capabilities": failed,
		"[800] podman --module - supported fields": skipped, "name with # inside": passed})
}

// checkOutcomes fails t unless got is want.
func checkOutcomes(t *testing.T, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestReadGinkgo(t *testing.T) {
	const report = `[{"SpecReports": [
{"LeafNodeType": "SynchronizedBeforeSuite", "State": "passed"},
{"LeafNodeType": "It", "LeafNodeText": "podman exec --privileged", "LeafNodeLocation": {"FileName": "/x/test/e2e/exec_test.go", "LineNumber": 149}, "State": "passed"},
{"LeafNodeType": "It", "LeafNodeText": "podman exec --privileged", "LeafNodeLocation": {"FileName": "/x/test/e2e/exec_test.go", "LineNumber": 175}, "State": "panicked"},
{"LeafNodeType": "It", "LeafNodeText": "not focused", "LeafNodeLocation": {"FileName": "/x/a_test.go", "LineNumber": 1}, "State": "skipped"},
{"LeafNodeType": "It", "LeafNodeText": "skips itself", "LeafNodeLocation": {"FileName": "/x/a_test.go", "LineNumber": 2}, "State": "skipped", "Failure": {"Message": "rootless only"}}
]}]`
	got, err := readGinkgo(write(t, "r.json", report))
	if err != nil {
		t.Fatal(err)
	}
	checkOutcomes(t, got, map[string]string{"exec_test.go:149 podman exec --privileged": passed, "exec_test.go:175 podman exec --privileged": failed,
		"a_test.go:2 skips itself": skipped})
}

func TestNeedsReason(t *testing.T) {
	for _, tc := range []struct {
		cells []string
		want  bool
	}{
		{[]string{passed, passed, passed}, false},
		{[]string{"-", "-", passed}, false},
		{[]string{failed, passed}, true},
		{[]string{"-", "-", failed}, true},
		{[]string{skipped, passed}, true},
	} {
		if got := (row{cells: tc.cells}).needsReason(); got != tc.want {
			t.Errorf("%q: needsReason %v, want %v", tc.cells, got, tc.want)
		}
	}
}

func TestCompareAll(t *testing.T) {
	tap := write(t, "b.tap", "1..2\nok 1 a\nnot ok 2 b\n")
	s := suites{"bats": {"old", "new"}}
	for _, tc := range []struct {
		name, expect string
		ok           bool
		err, out     string
	}{
		{"as expected", "bats | a | rt | passed | - |\nbats | b | rt | failed | - | environmental\n", true, "", "2 tests: 1 passed, 1 failed"},
		{"a failure without a reason", "bats | a | rt | passed | - |\nbats | b | rt | failed | - |\n", false, "no reason", ""},
		{"a changed outcome", "bats | a | rt | failed | - | why\nbats | b | rt | failed | - | why\n", false, "", "got passed | -, want failed | -"},
		{"a test the file lacks", "bats | a | rt | passed | - |\n", false, "", "not in"},
		{"a test that did not run", "bats | a | rt | passed | - |\nbats | b | rt | failed | - | why\nbats | c | rt | passed | - |\n", false, "", "expected, not run"},
		{"an invalid cell", "bats | a | rt | fine | - |\n", false, "is none of", ""},
	} {
		var out strings.Builder
		ok, err := compareAll(write(t, "e", tc.expect), s, runs{{suite: "bats", runtime: "rt", build: "old", path: tap}}, &out)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || ok != tc.ok || !strings.Contains(out.String(), tc.out) {
			t.Errorf("%s: ok %v, err %v, output %q; want ok %v and %q", tc.name, ok, err, out.String(), tc.ok, tc.out)
		}
	}
}
