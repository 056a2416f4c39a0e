package record

import (
	"slices"
	"strings"
)

// CommandLine is an OCI runtime command line as the shim reads it: the
// global options, the command, and what follows the command.
type CommandLine struct {
	Root, Log, LogFormat string // --root, --log, --log-format
	// Globals are the global options, each as "--name=value" or, for one
	// that takes no value, "--name".
	Globals []string
	Command string
	Rest    []string // after the command
	RestAt  int      // index of Rest[0] in the whole line
}

// Parse splits args, what followed the name of the runtime shim for
// runtime (a name or a path), by the global options that runtime takes:
// those of runc, crun and runsc are known, and a runtime of another name
// is read by what the three agree on. The error, wrapping
// [ErrCommandLine], is for an option it does not know that leaves it
// unsure whether the command is create, run or exec.
func Parse(runtime string, args []string) (CommandLine, error) {
	return grammarFor(runtime).parse(args)
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
