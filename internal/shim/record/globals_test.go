package record

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// forms are the ways a global option is written on a runtime's command
// line: each of "-name" and "--name", and for one that takes a value
// "--name value" and "--name=value".
func forms(name string, takesValue bool) [][]string {
	var out [][]string
	for _, dash := range []string{"--", "-"} {
		if takesValue {
			out = append(out, []string{dash + name, "v"}, []string{dash + name + "=v"})
		} else {
			out = append(out, []string{dash + name}, []string{dash + name + "=true"})
		}
	}
	return out
}

// TestEveryGlobalForm: with each global option of runc, crun and runsc in
// each of its forms before it, create, run and exec are found with their
// container ID and options, and the option is among Globals.
func TestEveryGlobalForm(t *testing.T) {
	for _, g := range []grammar{runcGrammar, crunGrammar, runscGrammar, commonGrammar()} {
		for _, o := range slices.Concat(g.values, g.flags) {
			takesValue := slices.Contains(g.values, o)
			for _, form := range forms(o, takesValue) {
				for _, command := range []string{"create", "run", "exec"} {
					line := slices.Concat(form, []string{"--root", "/r", command, "--pid-file", "/p", "c1"})
					cl, err := g.parse(line)
					if err != nil {
						t.Errorf("%s: %q: %v", g.name, line, err)
						continue
					}
					want := "--" + o
					if takesValue {
						want += "=v"
					} else if strings.HasSuffix(form[0], "=true") {
						want += "=true"
					}
					if cl.Command != command || cl.ContainerID() != "c1" || cl.Root != "/r" || !slices.Contains(cl.Globals, want) {
						t.Errorf("%s: %q: command %q, ID %q, root %q, globals %q; want %s, c1, /r, %s among them",
							g.name, line, cl.Command, cl.ContainerID(), cl.Root, cl.Globals, command, want)
					}
					if v, _ := cl.Option("--pid-file"); v != "/p" {
						t.Errorf("%s: %q: --pid-file %q, want /p", g.name, line, v)
					}
				}
			}
		}
	}
}

// TestUnknownGlobals: an option no grammar knows never hides create, run
// or exec: either the command is found, or the error names the option.
func TestUnknownGlobals(t *testing.T) {
	for _, tc := range []struct {
		runtime string
		args    []string
		command string // "" for an error
	}{
		{"runsc", []string{"--new-flag=x", "create", "c1"}, "create"},
		{"runsc", []string{"--new-flag", "--root", "/r", "create", "c1"}, "create"},
		{"runsc", []string{"--new-flag", "create", "c1"}, ""},        // a boolean, or its value?
		{"runsc", []string{"--new-flag", "x", "create", "c1"}, ""},   // "x" the command, or its value?
		{"runsc", []string{"--new-flag", "x", "state", "c1"}, "x"},   // neither reading rewrites
		{"runsc", []string{"--new-flag", "state", "c1"}, "state"},    // neither reading rewrites
		{"runsc", []string{"--rootless", "run", "c1"}, "run"},        // runsc's is a boolean
		{"runc", []string{"--rootless", "auto", "run", "c1"}, "run"}, // runc's takes a value
		{"kata", []string{"--rootless", "auto", "run", "c1"}, ""},    // no grammar: either
		{"kata", []string{"--rootless=auto", "run", "c1"}, "run"},
		{"kata", []string{"--network", "none", "exec", "c1"}, "exec"}, // runsc's option, known to the common grammar
		{"runc", []string{"--", "create", "c1"}, "create"},
		{"runc", []string{"--version", "create"}, ""},
	} {
		cl, err := Parse(tc.runtime, tc.args)
		switch {
		case tc.command == "" && strings.HasPrefix(tc.args[0], "--version"):
			if err != nil || cl.Command != "" {
				t.Errorf("%s %q: command %q, %v; want none", tc.runtime, tc.args, cl.Command, err)
			}
		case tc.command == "":
			if !errors.Is(err, ErrCommandLine) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.args[0])) {
				t.Errorf("%s %q: command %q, error %v; want an error naming %q", tc.runtime, tc.args, cl.Command, err, tc.args[0])
			}
		case err != nil || cl.Command != tc.command:
			t.Errorf("%s %q: command %q, %v; want %q", tc.runtime, tc.args, cl.Command, err, tc.command)
		}
	}
}

// TestRunscFlags checks runsc's grammar against the installed runsc: every
// option "runsc flags" lists is known, and takes a value exactly when runsc
// reads the next argument as its value, which the exit status of
// "runsc -NAME flags" tells: 0 when "flags" is the command.
func TestRunscFlags(t *testing.T) {
	runsc, err := exec.LookPath("runsc")
	if err != nil {
		if os.Getenv("CAPGEN_REQUIRE_E2E") == "1" {
			t.Fatal("CAPGEN_REQUIRE_E2E=1 and no runsc on $PATH")
		}
		t.Skip("no runsc on $PATH")
	}
	out, err := exec.Command(runsc, "flags").CombinedOutput()
	if err != nil {
		t.Fatalf("runsc flags: %v: %s", err, out)
	}
	listed := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(line, "  -") {
			continue
		}
		name := strings.TrimPrefix(fields[0], "-")
		if slices.Contains(runscGrammar.stops, name) {
			continue
		}
		listed++
		known, takesValue := slices.Contains(runscGrammar.values, name) || slices.Contains(runscGrammar.flags, name), slices.Contains(runscGrammar.values, name)
		if !known {
			t.Errorf("runsc flags lists -%s, which runsc's grammar does not know", name)
			continue
		}
		// In a directory of its own: with a value, "flags" names the file
		// of -debug-log, -log, -trace and the like.
		cmd := exec.Command(runsc, "-"+name, "flags")
		cmd.Dir = t.TempDir()
		err := cmd.Run()
		if boolean := err == nil; boolean == takesValue {
			t.Errorf("runsc -%s flags: exit %v, so -%s takes a value: %v; the grammar says %v", name, err, name, !boolean, takesValue)
		}
	}
	if listed < 30 {
		t.Fatalf("runsc flags listed %d options: %s", listed, out)
	}
}
