package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// The expectation file has one row per suite, test and runtime:
//
//	podman-e2e | exec_test.go:149 podman exec --privileged | runc 1.1.5 | passed | passed | passed | reason
//
// fields separated by "|": the suite, the test, the runtime, one cell per
// build of the suite (-suite's order): passed, failed, skipped, or "-" for
// a build not run on that runtime; and the reason, required when the cells
// differ or any is failed. "#" starts a comment line.
type row struct {
	suite, test, runtime string
	cells                []string
	reason               string
	line                 int
}

var errExpect = errors.New("invalid expectation")

func readExpectation(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []row
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "|")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if len(f) < 5 {
			return nil, fmt.Errorf("%s:%d: %w: want suite | test | runtime | cells... | reason", path, n, errExpect)
		}
		r := row{suite: f[0], test: f[1], runtime: f[2], cells: f[3 : len(f)-1], reason: f[len(f)-1], line: n}
		for _, c := range r.cells {
			if !slices.Contains([]string{passed, failed, skipped, "-"}, c) {
				return nil, fmt.Errorf("%s:%d: %w: cell %q is none of passed, failed, skipped, -", path, n, errExpect, c)
			}
		}
		if r.needsReason() && r.reason == "" {
			return nil, fmt.Errorf("%s:%d: %w: the builds differ or fail and no reason is given", path, n, errExpect)
		}
		rows = append(rows, r)
	}
	return rows, s.Err()
}

// needsReason reports whether the row's builds differ or any fails.
func (r row) needsReason() bool {
	var run []string
	for _, c := range r.cells {
		if c != "-" {
			run = append(run, c)
		}
	}
	return slices.Contains(run, failed) || len(slices.Compact(slices.Clone(run))) > 1
}

func (r row) key() string { return r.suite + "|" + r.test + "|" + r.runtime }

// compareAll reads the reports, prints the counts and every mismatch, and
// reports whether they match the expectation.
func compareAll(expectPath string, s suites, rs runs, w io.Writer) (bool, error) {
	rows, err := readExpectation(expectPath)
	if err != nil {
		return false, err
	}
	measured := map[string][]string{} // row key → cells
	for _, r := range rs {
		builds, ok := s[r.suite]
		col := slices.Index(builds, r.build)
		if !ok || col < 0 {
			return false, fmt.Errorf("result %s|%s|%s: no such suite or build in -suite", r.suite, r.runtime, r.build)
		}
		outcomes, err := readReport(r.path)
		if err != nil {
			return false, err
		}
		if len(outcomes) == 0 {
			return false, fmt.Errorf("%s: no test ran", r.path)
		}
		counts := map[string]int{}
		for test, state := range outcomes {
			counts[state]++
			k := r.suite + "|" + test + "|" + r.runtime
			if measured[k] == nil {
				measured[k] = slices.Repeat([]string{"-"}, len(builds))
			}
			measured[k][col] = state
		}
		fmt.Fprintf(w, "%-12s %-18s %-20s %d tests: %d passed, %d failed, %d skipped\n",
			r.suite, r.runtime, r.build, len(outcomes), counts[passed], counts[failed], counts[skipped])
	}
	ok := true
	expected := map[string]row{}
	for _, r := range rows {
		expected[r.key()] = r
		got, ran := measured[r.key()]
		switch {
		case !ran:
			fmt.Fprintf(w, "%s:%d: %s | %s | %s: expected, not run\n", expectPath, r.line, r.suite, r.test, r.runtime)
			ok = false
		case !slices.Equal(got, r.cells):
			fmt.Fprintf(w, "%s:%d: %s | %s | %s: got %s, want %s\n", expectPath, r.line, r.suite, r.test, r.runtime,
				strings.Join(got, " | "), strings.Join(r.cells, " | "))
			ok = false
		}
	}
	for _, k := range slices.Sorted(maps.Keys(measured)) {
		if _, ok2 := expected[k]; !ok2 {
			fmt.Fprintf(w, "not in %s: %s | %s |\n", expectPath, strings.ReplaceAll(k, "|", " | "), strings.Join(measured[k], " | "))
			ok = false
		}
	}
	return ok, nil
}
