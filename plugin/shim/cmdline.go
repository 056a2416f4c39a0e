package shim

import (
	"slices"
	"strings"
)

// commandLine is an OCI runtime command line as the shim reads it: the
// global options it needs, the command, and what follows the command.
type commandLine struct {
	root, log, logFormat string // --root, --log, --log-format
	command              string
	rest                 []string // after the command
	restAt               int      // index of rest[0] in the whole line
}

// globalValueFlags are the global options of runc and crun that take a
// value as the next argument, so that the value is not taken for the
// command.
var globalValueFlags = []string{"--root", "--log", "--log-format", "--criu", "--rootless", "--cgroup-manager"}

// parseCommandLine splits args, what followed the shim's name.
func parseCommandLine(args []string) commandLine {
	var cl commandLine
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
				cl.root = value
			case "--log":
				cl.log = value
			case "--log-format":
				cl.logFormat = value
			}
		case a == "--version" || a == "-v":
			return cl
		case !strings.HasPrefix(a, "-"):
			cl.command, cl.rest, cl.restAt = a, args[i+1:], i+1
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

// option returns the value of the first of names among the options of
// rest, the arguments of command.
func option(command string, rest []string, names ...string) (string, bool) {
	opts := rest[:optionsEnd(command, rest)]
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

// optionsEnd returns the index in rest of the first argument of command
// that is neither an option nor the value of one: the container ID, after
// which come the process's own arguments for exec.
func optionsEnd(command string, rest []string) int {
	takesValue := commandValueFlags[command]
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

// positionals returns the arguments of rest that are neither options nor
// the values of the command's options that take one: for most commands the
// container ID comes first.
func positionals(command string, rest []string) []string {
	takesValue := commandValueFlags[command]
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

// bundleDir returns the bundle of a create or run command line: --bundle
// or -b, else the working directory.
func bundleDir(rest []string) string {
	if v, ok := option("create", rest, "--bundle", "-b"); ok {
		return v
	}
	return "."
}

// detached reports whether a run command line detaches (--detach, -d).
func detached(rest []string) bool {
	opts := rest[:optionsEnd("run", rest)]
	return slices.Contains(opts, "--detach") || slices.Contains(opts, "-d")
}
