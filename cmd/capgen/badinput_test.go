package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
)

// badInputRuntime returns a runtime whose "features" lists the table's
// names, as runc's does, or with garbage, one whose "features" prints
// something that is not JSON.
func badInputRuntime(t *testing.T, garbage bool) string {
	t.Helper()
	if garbage {
		return fakeRuntimePrinting(t, "unknown command features")
	}
	return fakeRuntime(t, false)
}

// badInputCommand runs a capgen command in-process with stdin and returns
// stdout and the error.
func badInputCommand(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCommand()
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	return out.String(), err
}

// checkBadInputError checks that err names the input, quoted, and says
// why, and that nothing was printed.
func checkBadInputError(t *testing.T, stdout string, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; printed\n%s", stdout)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if stdout != "" {
		t.Errorf("printed %q with the error", stdout)
	}
}

// TestBadInputResolveFlags passes capgen resolve flag values that are not
// what they should be.
func TestBadInputResolveFlags(t *testing.T) {
	runc := badInputRuntime(t, false)
	notExec := filepath.Join(t.TempDir(), "runc")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error: the input, quoted, and the reason
	}{
		{"cap-add unknown", []string{"--cap-add", "CAP_FOO"}, []string{"cap-add", `"CAP_FOO"`, "no such name"}},
		{"cap-add long s", []string{"--cap-add", "ſys_admin"}, []string{"cap-add", `"ſys_admin"`, "not ASCII"}},
		{"cap-add space after comma", []string{"--cap-add", "CAP_CHOWN, CAP_KILL"}, []string{"cap-add", `" CAP_KILL"`, "no such name"}},
		{"cap-add ALL_CAPS", []string{"--cap-add", "ALL_CAPS"}, []string{"cap-add", `"ALL_CAPS"`, "no such name"}},
		{"cap-add numeral 64", []string{"--cap-add", "64"}, []string{"cap-add", `"64"`, "above 63"}},
		{"cap-add numeral leading zero", []string{"--cap-add", "021"}, []string{"cap-add", `"021"`, "leading zero"}},
		{"cap-add privileged", []string{"--privileged", "--cap-add", "CAP_FOO"}, []string{`"CAP_FOO"`, "no such name"}},
		{"cap-drop unknown", []string{"--cap-drop", "sys-admin"}, []string{"cap-drop", `"sys-admin"`, "no such name"}},
		{"cap-add and cap-drop", []string{"--cap-add", "net_raw", "--cap-drop", "NET_RAW"}, []string{"CAP_NET_RAW", "both added and dropped"}},
		{"all added and dropped", []string{"--cap-add", "all", "--cap-drop", "ALL"}, []string{`"all"`, "both added and dropped"}},
		{"policy", []string{"--policy", "bogus"}, []string{"--policy", `"bogus"`, "want one of"}},
		{"policy empty", []string{"--policy", ""}, []string{"--policy", `""`, "want one of"}},
		{"image label", []string{"--image-label", "CAP_CHOWN,,CAP_KILL"}, []string{"io.containers.capabilities", `""`, "empty"}},
		{"image label confusable", []string{"--image-label", "kıll"}, []string{"io.containers.capabilities", `"kıll"`, "not ASCII"}},
		{"runtime missing path", []string{"--runtime", "/nonexistent/runc"}, []string{"--runtime", `"/nonexistent/runc"`, "no such file"}},
		{"runtime unknown name", []string{"--runtime", "no-such-runtime-xyz"}, []string{"--runtime", `"no-such-runtime-xyz"`, "not found"}},
		{"runtime not executable", []string{"--runtime", notExec}, []string{"--runtime", strconv.Quote(notExec), "not an executable file"}},
		{"runtime directory", []string{"--runtime", t.TempDir() + "/"}, []string{"--runtime", "not an executable file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--json"}, tt.args...)
			if !slices.Contains(args, "--runtime") {
				args = append(args, "--runtime", runc)
			}
			out, err := runResolveCmd(t, args...)
			checkBadInputError(t, out, err, tt.want)
		})
	}
}

// TestBadInputResolveAccepted covers odd values resolve accepts: they must
// never yield a capability that was not requested.
func TestBadInputResolveAccepted(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// want is the most the lists may grant: effective, permitted,
		// inheritable, ambient for a non-root user come from --cap-add only.
		bounding, user []string
		root           bool
	}{
		{name: "user ROOT is not root", args: []string{"--user", "ROOT", "--cap-add", "net_raw"},
			bounding: []string{"CAP_NET_RAW"}, user: []string{"CAP_NET_RAW"}},
		{name: "user 00 is not root", args: []string{"--user", "00"}, user: []string{}},
		{name: "user with NUL", args: []string{"--user", "0\x00", "--cap-add", "kill"}, bounding: []string{"CAP_KILL"}, user: []string{"CAP_KILL"}},
		{name: "image label wider than request", args: []string{"--cap-add", "chown", "--image-label", "CAP_SYS_ADMIN"},
			bounding: []string{"CAP_CHOWN"}, root: true},
		{name: "empty cap-add", args: []string{"--cap-add", ""}, root: true},
	}
	runc := badInputRuntime(t, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runResolveCmd(t, append([]string{"--json", "--runtime", runc}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			var r resolved
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("not resolve's JSON: %v\n%s", err, out)
			}
			defaults := badInputDefaults(t)
			allowed := setOfEntries(t, append(slices.Clone(tt.bounding), defaults...))
			c := r.Capabilities
			if s := setOfEntries(t, c.Bounding); s.Minus(allowed) != 0 {
				t.Errorf("bounding %q grants %v, not requested", c.Bounding, s.Minus(allowed).Strings())
			}
			if tt.root {
				if len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
					t.Errorf("root: inheritable %q, ambient %q", c.Inheritable, c.Ambient)
				}
				return
			}
			user := setOfEntries(t, tt.user)
			for name, list := range map[string][]string{"effective": c.Effective, "permitted": c.Permitted, "inheritable": c.Inheritable, "ambient": c.Ambient} {
				if s := setOfEntries(t, list); s.Minus(user) != 0 {
					t.Errorf("non-root %s %q grants %v, not added", name, list, s.Minus(user).Strings())
				}
			}
		})
	}
}

// badInputDefaults returns the bounding list of an unmodified request:
// containers.conf's default_capabilities as this process reads them.
func badInputDefaults(t *testing.T) []string {
	t.Helper()
	out, err := runResolveCmd(t, "--json", "--runtime", badInputRuntime(t, false))
	if err != nil {
		t.Fatal(err)
	}
	var r resolved
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return r.Capabilities.Bounding
}

func setOfEntries(t *testing.T, entries []string) capnames.Set {
	t.Helper()
	set, unmapped, err := capnames.Materialize(entries, capnames.MaxCap)
	if err != nil || len(unmapped) > 0 || slices.Contains(entries, capnames.AllCaps) {
		t.Fatalf("entries %q: unmapped %q, %v", entries, unmapped, err)
	}
	return set
}

// TestBadInputResolveGarbageRuntime checks a runtime whose features output
// is garbage: resolve says the features are unknown and why, and emits
// the table's names only.
func TestBadInputResolveGarbageRuntime(t *testing.T) {
	out, err := runResolveCmd(t, "--runtime", badInputRuntime(t, true), "--cap-add", "net_raw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `features unknown: "features" printed invalid JSON`) {
		t.Errorf("output does not say why the runtime is unknown:\n%s", out)
	}
	if strings.Contains(out, "ALL_CAPS") {
		t.Errorf("ALL_CAPS emitted to a runtime that did not list it:\n%s", out)
	}
}

// fileWriter returns a function that writes a file of the given name and
// content into dir and returns its path.
func fileWriter(t *testing.T, dir string) func(name, content string) string {
	return func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
}

// TestBadInputParse runs capgen parse on files that are not capability
// headers.
func TestBadInputParse(t *testing.T) {
	dir := t.TempDir()
	write := fileWriter(t, dir)
	good := write("good.h", "#define CAP_CHOWN 0\n#define CAP_LAST_CAP CAP_CHOWN\n")
	tests := []struct {
		name string
		arg  string
		want []string
	}{
		{"missing", filepath.Join(dir, "missing.h"), []string{"missing.h", "no such file"}},
		{"directory", dir, []string{dir, "is a directory"}},
		{"empty", write("empty.h", ""), []string{"empty.h", "empty file"}},
		{"binary", write("bin.h", "\x7fELF\x00\x01"), []string{"bin.h:1", "NUL byte"}},
		{"no capabilities", write("none.h", "#define FOO 1\n"), []string{"none.h", "no capability defined"}},
		{"value 64", write("v64.h", "#define CAP_A 64\n"), []string{"v64.h:1", "CAP_A", "value 64", "outside 0..63"}},
		{"octal", write("octal.h", "#define CAP_A 010\n"), []string{"octal.h:1", `"010"`, "leading zero"}},
		{"duplicate value", write("dup.h", "#define CAP_A 1\n#define CAP_B 1\n"), []string{"dup.h:2", "both have value 1"}},
		{"lower-case name", write("lower.h", "#define CAP_chown 0\n"), []string{"lower.h:1", `"CAP_chown"`, "upper-case"}},
		{"conflict marker", write("conflict.h", "#define CAP_A 1\n<<<<<<< HEAD\n"), []string{"conflict.h:2", "merge conflict marker"}},
		{"unterminated comment", write("comment.h", "#define CAP_A 1\n/* open\n"), []string{"comment.h:2", "comment is not terminated"}},
		{"last cap mismatch", write("last.h", "#define CAP_A 0\n#define CAP_B 1\n#define CAP_LAST_CAP CAP_A\n"),
			[]string{"last.h:3", "CAP_LAST_CAP", "largest capability is CAP_B"}},
		{"bad version", good + "=six", []string{"good.h", `"six"`}},
		{"too large", write("big.h", strings.Repeat("/* pad */\n", 500000)), []string{"big.h", "limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := badInputCommand(t, "", "parse", "--json", tt.arg)
			checkBadInputError(t, out, err, tt.want)
		})
	}
}

// TestBadInputGenerate runs capgen generate with headers and man pages
// that are not what they should be; nothing may be written.
func TestBadInputGenerate(t *testing.T) {
	dir := t.TempDir()
	write := fileWriter(t, dir)
	good := write("good.h", "#define CAP_CHOWN 0\n#define CAP_KILL 5\n#define CAP_LAST_CAP CAP_KILL\n")
	tests := []struct {
		name string
		args []string
		want []string
		out  string // base name of --out; "" for captable
	}{
		{"header missing", []string{"--header", filepath.Join(dir, "missing.h")}, []string{"missing.h", "no such file"}, ""},
		{"header invalid", []string{"--header", write("dup.h", "#define CAP_A 1\n#define CAP_B 1\n")}, []string{"dup.h:2", "both have value 1"}, ""},
		{"header bad version", []string{"--header", good + "=6.x"}, []string{"good.h", `"6.x"`}, ""},
		{"header conflicts with table", []string{"--header", write("moved.h", "#define CAP_KILL 6\n")},
			[]string{"moved.h", "CAP_KILL", "5", "6"}, ""},
		{"man page missing", []string{"--header", good, "--man-page", filepath.Join(dir, "missing.7.gz")}, []string{"missing.7.gz", "no such file"}, ""},
		{"kernel tree missing", []string{"--kernel-tree", filepath.Join(dir, "linux")}, []string{"linux"}, ""},
		{"out not a package name", []string{"--header", good}, []string{`"my-table"`, "--package"}, "my-table"},
		{"out a keyword", []string{"--header", good}, []string{`"func"`, "--package"}, "func"},
		{"out blank", []string{"--header", good}, []string{`"_"`, "--package"}, "_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outDir := filepath.Join(t.TempDir(), cmp.Or(tt.out, "captable"))
			args := append([]string{"generate", "--out", outDir}, tt.args...)
			if !slices.Contains(args, "--man-page") {
				args = append(args, "--man-page", "")
			}
			out, err := badInputCommand(t, "", args...)
			if err == nil {
				t.Fatalf("accepted:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, statErr := os.Stat(outDir); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("%s written despite the error", outDir)
			}
		})
	}
}

// TestBadInputGenerateFromJSON checks that generate --from-json refuses the
// sources it would otherwise ignore.
func TestBadInputGenerateFromJSON(t *testing.T) {
	dir := t.TempDir()
	for _, flag := range []string{"--header", "--kernel-tree", "--man-page", "--table"} {
		t.Run(flag, func(t *testing.T) {
			outDir := filepath.Join(dir, "captable")
			out, err := badInputCommand(t, "", "generate", "--out", outDir,
				"--from-json", "../../capnames/capabilities.json", flag, filepath.Join(dir, "x"))
			if err == nil {
				t.Fatalf("accepted:\n%s", out)
			}
			if !strings.Contains(err.Error(), "from-json") || !strings.Contains(err.Error(), flag[2:]) {
				t.Errorf("error %q does not name --from-json and %s", err, flag)
			}
			if _, statErr := os.Stat(outDir); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("%s written despite the error", outDir)
			}
		})
	}
}

// TestBadInputHookStdin runs capgen hook on stdin that is not a spec an
// engine writes: it must fail naming the problem, with nothing on stdout.
func TestBadInputHookStdin(t *testing.T) {
	const caps = `"process":{"cwd":"/","capabilities":{"bounding":["CAP_KILL"]}}`
	tests := []struct {
		name, stdin string
		args        []string
		want        []string
	}{
		{"not JSON", "not json", nil, []string{"config.json", "not a JSON object"}},
		{"empty", "", nil, []string{"config.json", "not a JSON object"}},
		{"trailing data", `{"ociVersion":"1.0.0",` + caps + `}{}`, nil, []string{"config.json", "not a runtime spec"}},
		{"ociVersion 2", `{"ociVersion":"2.0.0",` + caps + `}`, nil, []string{`"2.0.0"`, "not a 1.x"}},
		{"null entry", `{"ociVersion":"1.0.0","process":{"cwd":"/","capabilities":{"bounding":[null]}}}`, nil,
			[]string{"process.capabilities.bounding[0]", "not a string"}},
		{"policy", `{"ociVersion":"1.0.0",` + caps + `}`, []string{"--policy", "everything"}, []string{`"everything"`, "want one of"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A runtime that cannot be found is an unknown runtime with a
			// warning: the input is checked all the same.
			args := append([]string{"hook", "--runtime", "/nonexistent/runtime"}, tt.args...)
			out, err := badInputCommand(t, tt.stdin, args...)
			checkBadInputError(t, out, err, tt.want)
		})
	}
}

// TestBadInputContainersConf gives capgen resolve containers.conf files
// whose default_capabilities are not capabilities. containers.conf is read
// once per process, so each case runs in a process of its own
// (TestBadInputContainersConfProcess).
func TestBadInputContainersConf(t *testing.T) {
	runc := badInputRuntime(t, false)
	tests := []struct {
		name     string
		defaults string // TOML array
		want     []string
	}{
		{"valid", `["CAP_CHOWN", "kill"]`, nil},
		{"unknown", `["CAP_CHOWN", "CAP_FOO"]`, []string{"default_capabilities", `"CAP_FOO"`, "no such name"}},
		{"unknown lower-case", `["cap_foo"]`, []string{"default_capabilities", `"cap_foo"`, "no such name"}},
		{"prefixed confusable", `["cap_ſys_admin"]`, []string{"default_capabilities", `"cap_ſys_admin"`, "not ASCII"}},
		{"trailing space", `["CAP_KILL "]`, []string{"default_capabilities", `"CAP_KILL "`, "no such name"}},
		// Without the cap_ prefix, common's loader upper-cases with Unicode
		// rules ("ſys_admin" would become CAP_SYS_ADMIN); resolve reads
		// the raw entries through engine.DefaultCapabilities.
		{"unprefixed confusable", `["chown", "ſys_admin"]`, []string{"default_capabilities", `"ſys_admin"`, "not ASCII"}},
		{"unprefixed dotless i", `["kıll"]`, []string{"default_capabilities", `"kıll"`, "not ASCII"}},
		{"all as a default", `["all"]`, []string{"default_capabilities", `"all"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := filepath.Join(t.TempDir(), "containers.conf")
			if err := os.WriteFile(conf, []byte("[containers]\ndefault_capabilities = "+tt.defaults+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestBadInputContainersConfProcess$")
			cmd.Env = append(os.Environ(), "CAPGEN_BADINPUT_PROCESS=1", "CONTAINERS_CONF="+conf,
				"CAPGEN_BADINPUT_RUNTIME="+runc, "CAPGEN_BADINPUT_CACHE="+t.TempDir())
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("%v: %s", err, stderr.String())
				}
				var r resolved
				if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
					t.Fatalf("not resolve's JSON: %v\n%s", err, stdout.String())
				}
				if got := setOfEntries(t, r.Capabilities.Bounding); got.Minus(capnames.SetOf(capnames.CAP_CHOWN, capnames.CAP_KILL)) != 0 {
					t.Errorf("bounding %q beyond the defaults", r.Capabilities.Bounding)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; printed\n%s", stdout.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not say %q", stderr.String(), w)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("printed %q with the error", stdout.String())
			}
		})
	}
}

// TestBadInputContainersConfProcess is the process TestBadInputContainersConf
// starts for each containers.conf: it runs capgen resolve --json with the
// runtime and cache directory it is given, prints the error on stderr and
// exits 1 on failure. It does nothing when not started that way.
func TestBadInputContainersConfProcess(t *testing.T) {
	if os.Getenv("CAPGEN_BADINPUT_PROCESS") != "1" {
		t.Skip("started by TestBadInputContainersConf")
	}
	cmd := newResolveCommand()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs([]string{"--json", "--runtime", os.Getenv("CAPGEN_BADINPUT_RUNTIME"),
		"--cache-dir", os.Getenv("CAPGEN_BADINPUT_CACHE")})
	cmd.SetOut(os.Stdout)
	if err := cmd.Execute(); err != nil {
		os.Stderr.WriteString("capgen: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}
