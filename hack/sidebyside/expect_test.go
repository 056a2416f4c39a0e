package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
)

func writeExpectation(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "expected")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEval(t *testing.T) {
	all := capnames.UpTo(capnames.CAP_CHECKPOINT_RESTORE).Minus(capnames.SetOf(capnames.CAP_SYS_RESOURCE))
	e, err := readExpectation(writeExpectation(t, "# sets\nset two = CHOWN+KILL\n"), all)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		expr string
		want capnames.Set
	}{
		{"two", capnames.SetOf(capnames.CAP_CHOWN, capnames.CAP_KILL)},
		{"two+39", capnames.SetOf(capnames.CAP_CHOWN, capnames.CAP_KILL, capnames.CAP_BPF)},
		{"all&upto:37-NET_RAW", capnames.UpTo(37).Minus(capnames.SetOf(capnames.CAP_SYS_RESOURCE, capnames.CAP_NET_RAW))},
		{"all - all", 0},
		{"none", 0},
	} {
		got, err := e.eval(tc.expr)
		if err != nil || got != tc.want {
			t.Errorf("eval(%q) = %s, %v; want %s", tc.expr, got.Bitmap(), err, tc.want.Bitmap())
		}
	}
	for _, bad := range []string{"", "NOPE", "upto:x", "two+"} {
		if _, err := e.eval(bad); !errors.Is(err, errExpect) {
			t.Errorf("eval(%q): error %v, want errExpect", bad, err)
		}
	}
}

func TestMatches(t *testing.T) {
	e, err := readExpectation(writeExpectation(t, ""), capnames.UpTo(40))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cell string
		r    result
		want bool
	}{
		{"CHOWN", result{bounding: 1, effective: 1}, true},
		{"CHOWN", result{bounding: 1, effective: 0}, false},
		{"CHOWN / none", result{bounding: 1, effective: 0}, true},
		{"fails: unknown capability", result{err: `runtime: unknown capability "CAP_BPF"`}, true},
		{"fails: unknown capability", result{bounding: 1, effective: 1}, false},
		{"CHOWN", result{err: "boom"}, false},
	} {
		got, err := e.matches(tc.cell, tc.r)
		if err != nil || got != tc.want {
			t.Errorf("matches(%q, %+v) = %v, %v; want %v", tc.cell, tc.r, got, err, tc.want)
		}
	}
}

func TestReadExpectationRows(t *testing.T) {
	e, err := readExpectation(writeExpectation(t, "podman | defaults | runc | CHOWN | CHOWN |\nbuildah | x | - | none | KILL | why\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.rows) != 2 || e.rows[0].reason != "" || e.rows[1].reason != "why" || len(e.rows[1].cells) != 2 {
		t.Errorf("rows = %+v", e.rows)
	}
	for _, bad := range []string{"podman | defaults | runc |\n", "set x\n", "set x = NOPE\n"} {
		if _, err := readExpectation(writeExpectation(t, bad), 0); !errors.Is(err, errExpect) {
			t.Errorf("%q: error %v, want errExpect", bad, err)
		}
	}
}

func TestLastErrorAndStatus(t *testing.T) {
	out := "time=\"x\" level=error msg=\"container_linux.go:370: starting container process caused: unknown capability \\\"CAP_BPF\\\"\"\nError: while running runtime: exit status 1\n"
	if got, want := lastError(out, errors.New("exit status 1")), `runtime: unknown capability "CAP_BPF"`; got != want {
		t.Errorf("lastError = %q, want %q", got, want)
	}
	if got := lastError("noise\nError: \"CAP_39\": unknown capability\n", nil); got != `"CAP_39": unknown capability` {
		t.Errorf("lastError = %q", got)
	}
	r := status("CapInh:\t0000000000000000\nCapPrm:\t00000000800405fb\nCapEff:\t0000000000000400\nCapBnd:\t00000000800405fb\n")
	if r.err != "" || r.bounding != 0x800405fb || r.effective != 0x400 {
		t.Errorf("status = %+v", r)
	}
	if r := status("nothing"); r.err == "" {
		t.Error("status of output without Cap lines: no error")
	}
}
