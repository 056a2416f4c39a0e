// Command enginesuites compares what the engines' own test suites
// reported, run by hack/engine-suites.sh against the unmodified and the
// patched builds, with a committed expectation, and prints each suite's
// counts per build and runtime:
//
//	enginesuites -expect FILE -suite SUITE=BUILD,BUILD... -result SUITE|RUNTIME|BUILD=REPORT ...
//
// A report is Ginkgo's JSON report (-ginkgo.json-report, a .json file) or
// bats' TAP output (a .tap file). The expectation has one row per suite,
// test and runtime (see expect.go); a row whose builds differ, or in which
// any build fails, must say why. It fails on a test either side lacks.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// suites maps a suite to its builds, in the order of the expectation's
// columns.
type suites map[string][]string

func (s suites) String() string { return fmt.Sprint(map[string][]string(s)) }

func (s suites) Set(v string) error {
	name, builds, ok := strings.Cut(v, "=")
	if !ok || name == "" || builds == "" {
		return fmt.Errorf("want SUITE=BUILD,BUILD..., got %q", v)
	}
	s[name] = strings.Split(builds, ",")
	return nil
}

// A run is one report: a suite run by a build on a runtime.
type run struct{ suite, runtime, build, path string }

type runs []run

func (r *runs) String() string { return fmt.Sprint(*r) }

func (r *runs) Set(v string) error {
	key, path, ok := strings.Cut(v, "=")
	f := strings.Split(key, "|")
	if !ok || len(f) != 3 || path == "" {
		return fmt.Errorf("want SUITE|RUNTIME|BUILD=REPORT, got %q", v)
	}
	*r = append(*r, run{suite: f[0], runtime: f[1], build: f[2], path: path})
	return nil
}

func main() {
	expect := flag.String("expect", "", "expectation file")
	s := suites{}
	var rs runs
	flag.Var(s, "suite", "SUITE=BUILD,BUILD...: a suite's builds, in the expectation's column order (repeated)")
	flag.Var(&rs, "result", "SUITE|RUNTIME|BUILD=REPORT: one report (repeated)")
	flag.Parse()
	if *expect == "" || len(s) == 0 || len(rs) == 0 || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	ok, err := compareAll(*expect, s, rs, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "enginesuites:", err)
		os.Exit(1)
	}
	if !ok {
		fmt.Println("FAIL: the engines' own suites differ from", *expect)
		os.Exit(1)
	}
	fmt.Println("engine suites: as expected")
}
