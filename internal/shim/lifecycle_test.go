package shim

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A container created through the shim keeps reaching the runtime that
// created it, even when its later commands come with no way to resolve the
// runtime's name (Podman runs start and delete with no environment); the
// record goes with a successful delete.
func TestRunRecordsTheRuntime(t *testing.T) {
	runtime, _ := shimFixture(t, allNamesFeatures()) // runc 1.1.5's features
	opts, _ := testOptions(t, "fake")
	opts.Lookup = func(name string) []string { return map[string][]string{"fake": {runtime}}[name] }
	root := filepath.Join(t.TempDir(), "runc")
	bundle := t.TempDir()
	writeConfig(t, bundle, `{"ociVersion":"1.0.2","process":{"cwd":"/","capabilities":{"bounding":["CAP_CHOWN"]}}}`)
	next, err := Run(context.Background(), []string{"--root", root, "--flag=x", "create", "--bundle", bundle, "ctr1"}, opts)
	if err != nil || next.Path != runtime {
		t.Fatalf("create: %+v, %v", next, err)
	}
	// The global options that matter to the probe go with it: the engine
	// may not repeat them (conmon runs exec without Podman's --runtime-flag).
	if got, want := readFile(t, filepath.Join(root+".capgen", "ctr1")), runtime+"\n\"--flag=x\"\n"; got != want {
		t.Fatalf("record %q, want %q", got, want)
	}

	lost := opts
	lost.Lookup = func(string) []string { return nil } // the name resolves no more
	for _, args := range [][]string{{"--root", root, "start", "ctr1"}, {"--root", root, "kill", "ctr1", "KILL"},
		{"--root", root, "exec", "--cwd", "/", "ctr1", "true"}, {"--root", root, "update", "--pids-limit", "10", "ctr1"}} {
		next, err := Run(context.Background(), args, lost)
		if err != nil || next.Path != runtime {
			t.Errorf("%q after the name stopped resolving: %+v, %v; want the recorded %s", args, next, err, runtime)
		}
	}
	if _, err := Run(context.Background(), []string{"--root", root, "start", "other"}, lost); err == nil {
		t.Error("start of a container with no record resolved a name that does not resolve")
	}

	del, err := Run(context.Background(), []string{"--root", root, "delete", "--force", "ctr1"}, lost)
	if err != nil || del.Path != runtime || del.After == nil {
		t.Fatalf("delete: %+v, %v; want the recorded runtime, run as a child", del, err)
	}
	del.After(1) // the runtime failed: keep the record for the next try
	if readFile(t, filepath.Join(root+".capgen", "ctr1")) == "" {
		t.Fatal("a failed delete removed the record")
	}
	del.After(0)
	if _, err := os.Stat(root + ".capgen"); !os.IsNotExist(err) {
		t.Errorf("after delete the record directory remains: %v", err)
	}
}

// A run that is not detached ends with its container: no record. A
// detached one is recorded like a create.
func TestRunRecordsDetachedRunOnly(t *testing.T) {
	runtime, _ := shimFixture(t, allNamesFeatures())
	opts, _ := testOptions(t, runtime)
	bundle := t.TempDir()
	writeConfig(t, bundle, `{"ociVersion":"1.0.2","process":{"cwd":"/","capabilities":{"bounding":["CAP_CHOWN"]}}}`)
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"run", "--bundle", bundle, "fg"}, false},
		{[]string{"run", "--bundle", bundle, "fg2", "-d"}, false}, // after the ID: not an option of run
		{[]string{"run", "-b", bundle, "--detach", "bg"}, true},
		{[]string{"run", "-d", "--pid-file", "/p", "-b", bundle, "bg2"}, true},
	} {
		if _, err := Run(context.Background(), tc.args, opts); err != nil {
			t.Fatal(err)
		}
		id := tc.args[len(tc.args)-1]
		if id == "-d" {
			id = "fg2"
		}
		if got := readFile(t, filepath.Join(opts.RecordDir, id)) != ""; got != tc.want {
			t.Errorf("%q: recorded %t, want %t", tc.args, got, tc.want)
		}
	}
}

// A config.json whose lists the runtime takes as they are is not written.
func TestRunLeavesAnUnchangedFile(t *testing.T) {
	runtime, _ := shimFixture(t, allNamesFeatures())
	opts, _ := testOptions(t, runtime)
	bundle := t.TempDir()
	in := "{\"ociVersion\": \"1.0.2\",\n \"process\": {\"cwd\": \"/\", \"capabilities\": {\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\"]}}}\n"
	path := writeConfig(t, bundle, in)
	before, _ := os.Stat(path)
	if _, err := Run(context.Background(), []string{"create", "--bundle", bundle, "c"}, opts); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) || readFile(t, path) != in {
		t.Errorf("config.json rewritten though nothing changed: %q", readFile(t, path))
	}
}

// exec gets create's treatment: the process file of --process, rewritten in
// place (only its lists), and the values of --cap.
func TestRunExec(t *testing.T) {
	runtime, _ := shimFixture(t, allNamesFeatures())
	opts, log := testOptions(t, runtime)
	process := filepath.Join(t.TempDir(), "process.json")
	in := `{"args":["sh"],"cwd":"/","x-new":1,"capabilities":{"bounding":["CAP_KILL","CAP_NOT_A_CAP","21"],"effective":["CAP_KILL"]}}`
	if err := os.WriteFile(process, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--log", filepath.Join(t.TempDir(), "runc.log"), "--log-format", "json",
		"exec", "--process", process, "--cap", "CAP_NOT_A_CAP", "--cap=21", "-c", "CAP_KILL", "--detach", "--cwd", "-c", "ctr", "sh", "-c", "--cap=x"}
	next, err := Run(context.Background(), args, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(args[:5], []string{"--cap", "CAP_KILL", "--cap", "CAP_SYS_ADMIN", "--process", process, "--detach", "--cwd", "-c", "ctr", "sh", "-c", "--cap=x"})
	if !slices.Equal(next.Args, want) {
		t.Errorf("exec arguments %q, want %q", next.Args, want)
	}
	wantFile := strings.Replace(in, `["CAP_KILL","CAP_NOT_A_CAP","21"]`, `["CAP_KILL","CAP_SYS_ADMIN"]`, 1)
	if got := readFile(t, process); got != wantFile {
		t.Errorf("process file\n%s\nwant\n%s", got, wantFile)
	}
	// --log was given: the warnings are there, as the runtime writes them.
	var line struct{ Level, Msg string }
	if err := json.Unmarshal([]byte(strings.SplitN(readFile(t, args[1]), "\n", 2)[0]), &line); err != nil ||
		line.Level != "warning" || !strings.Contains(line.Msg, "CAP_NOT_A_CAP") {
		t.Errorf("runtime log %q: want JSON warning lines naming CAP_NOT_A_CAP (%v)", readFile(t, args[1]), err)
	}
	if readFile(t, log) != "" {
		t.Errorf("with --log, the shim also wrote its own log: %q", readFile(t, log))
	}
}

func writeConfig(t *testing.T, bundle, data string) string {
	t.Helper()
	path := filepath.Join(bundle, "config.json")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
