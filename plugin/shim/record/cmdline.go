package record

import (
	"slices"
	"strings"
)

// CommandLine is an OCI runtime command line as the shim reads it: the
// global options it needs, the command, and what follows the command.
type CommandLine struct {
	Root, Log, LogFormat string // --root, --log, --log-format
	Command              string
	Rest                 []string // after the command
	RestAt               int      // index of Rest[0] in the whole line
}

// globalValueFlags are the global options of runc and crun that take a
// value as the next argument, so that the value is not taken for the
// command.
var globalValueFlags = []string{"--root", "--log", "--log-format", "--criu", "--rootless", "--cgroup-manager"}

// Parse splits args, what followed the runtime's name.
func Parse(args []string) CommandLine {
	var cl CommandLine
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(a, "=")
		switch {
		case slices.Contains(globalValueFlags, name):
			if !hasValue {
				if i+1 >= len(args) {
					return cl
				}
				i++
				value = args[i]
			}
			switch name {
			case "--root":
				cl.Root = value
			case "--log":
				cl.Log = value
			case "--log-format":
				cl.LogFormat = value
			}
		case a == "--version" || a == "-v":
			return cl
		case !strings.HasPrefix(a, "-"):
			cl.Command, cl.Rest, cl.RestAt = a, args[i+1:], i+1
			return cl
		}
	}
	return cl
}

// commandValueFlags are, per command, the options of runc and crun that
// take a value as the next argument.
var commandValueFlags = map[string][]string{
	"create": {"--bundle", "-b", "--console-socket", "--pid-file", "--preserve-fds"},
	"run":    {"--bundle", "-b", "--console-socket", "--pid-file", "--preserve-fds"},
	"exec": {"--console-socket", "--cwd", "--env", "-e", "--user", "-u", "--additional-gids", "-g", "--process", "-p",
		"--process-label", "--apparmor", "--cap", "-c", "--pid-file", "--preserve-fds", "--cgroup"},
}

// Option returns the value of the first of names among the options of
// the command.
func (cl CommandLine) Option(names ...string) (string, bool) {
	opts := cl.Rest[:cl.OptionsEnd()]
	for i, a := range opts {
		for _, n := range names {
			if a == n && i+1 < len(opts) {
				return opts[i+1], true
			}
			if v, found := strings.CutPrefix(a, n+"="); found {
				return v, true
			}
		}
	}
	return "", false
}

// OptionsEnd returns the index in Rest of the first argument of the
// command that is neither an option nor the value of one: the container
// ID, after which come the process's own arguments for exec.
func (cl CommandLine) OptionsEnd() int {
	rest := cl.Rest
	takesValue := commandValueFlags[cl.Command]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--" || a == "-" || !strings.HasPrefix(a, "-"):
			return i
		case !strings.Contains(a, "=") && slices.Contains(takesValue, a):
			i++
		}
	}
	return len(rest)
}

// Positionals returns the arguments of Rest that are neither options nor
// the values of the command's options that take one: for most commands the
// container ID comes first.
func (cl CommandLine) Positionals() []string {
	rest := cl.Rest
	takesValue := commandValueFlags[cl.Command]
	var out []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			return append(out, rest[i+1:]...)
		case strings.HasPrefix(a, "-") && a != "-":
			if !strings.Contains(a, "=") && slices.Contains(takesValue, a) {
				i++
			}
		default:
			out = append(out, a)
		}
	}
	return out
}

// Bundle returns the bundle of a create or run command line: --bundle
// or -b, else the working directory.
func (cl CommandLine) Bundle() string {
	if v, ok := cl.Option("--bundle", "-b"); ok {
		return v
	}
	return "."
}

// Detached reports whether a run command line detaches (--detach, -d).
func (cl CommandLine) Detached() bool {
	opts := cl.Rest[:cl.OptionsEnd()]
	return slices.Contains(opts, "--detach") || slices.Contains(opts, "-d")
}
