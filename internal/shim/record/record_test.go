package record

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args                         []string
		command, dir, id, root, logf string
	}{
		{[]string{"create", "--bundle", "/b", "id"}, "create", "/b", "id", "", ""},
		{[]string{"--root", "/run/x", "--log", "/l", "create", "-b", "/b", "--pid-file", "/p", "id"}, "create", "/b", "id", "/run/x", "/l"},
		{[]string{"--systemd-cgroup", "--log-format=json", "run", "--bundle=/b", "id"}, "run", "/b", "id", "", ""},
		{[]string{"--root=/r", "state", "id"}, "state", ".", "id", "/r", ""},
		{[]string{"delete", "--force", "id"}, "delete", ".", "id", "", ""},
		{[]string{"--version"}, "", ".", "", "", ""},
		{[]string{"--root", "create", "delete", "id"}, "delete", ".", "id", "create", ""}, // "create" is --root's value
		{[]string{"delete", "../x"}, "delete", ".", "", "", ""},                           // no record file outside the directory
		{nil, "", ".", "", "", ""},
	} {
		cl, err := Parse("runc-1.1.5", tc.args)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if dir, id := cl.Bundle(), cl.ContainerID(); cl.Command != tc.command || dir != tc.dir || id != tc.id || cl.Root != tc.root || cl.Log != tc.logf {
			t.Errorf("%q: command %q, bundle %q, id %q, root %q, log %q; want %q, %q, %q, %q, %q",
				tc.args, cl.Command, dir, id, cl.Root, cl.Log, tc.command, tc.dir, tc.id, tc.root, tc.logf)
		}
	}
}

// TestRecords: a record is found by the container's later commands, never
// by create or run, names only an executable file, and goes with Remove
// together with its emptied directory.
func TestRecords(t *testing.T) {
	tmp := t.TempDir()
	real := filepath.Join(tmp, "runc")
	if err := os.WriteFile(real, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(tmp, "state")
	dir := mustParse(t, "runc", "--root", root+"/", "create", "c1").Dir("")
	if dir != root+".capgen" {
		t.Fatalf("records of --root %s in %s, want %s.capgen", root, dir, root)
	}
	globals := []string{"--network=none", "--odd=a \"quoted\"\nvalue"}
	if err := Write(dir, "c1", Record{Runtime: real, Globals: globals}); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, "../c1", Record{Runtime: real}); err == nil {
		t.Error("Write accepted the ID ../c1")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"state", "c1"}, real},
		{[]string{"kill", "c1", "KILL"}, real},
		{[]string{"delete", "--force", "c1"}, real},
		{[]string{"exec", "--process", "/p.json", "c1"}, real},
		{[]string{"create", "--bundle", "/b", "c1"}, ""},
		{[]string{"state", "c2"}, ""},
	} {
		got, ok := mustParse(t, "runc", tc.args...).Lookup(dir)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%q: Lookup = %q, %v; want %q", tc.args, got, ok, tc.want)
		}
	}
	if r, ok := Read(dir, "c1"); !ok || !slices.Equal(r.Globals, globals) {
		t.Errorf("Read = %+v, %v; want the global options %q", r, ok, globals)
	}
	if err := os.Chmod(real, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, ok := Read(dir, "c1"); ok {
		t.Errorf("record naming a file that is not executable read as %q", got)
	}
	Remove(dir, "c1")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("records directory left after its last record went: %v", err)
	}
}

func mustParse(t *testing.T, runtime string, args ...string) CommandLine {
	t.Helper()
	cl, err := Parse(runtime, args)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return cl
}
