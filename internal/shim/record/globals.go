package record

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// ErrCommandLine is wrapped by the errors of [Parse] for a command line
// whose command the shim cannot find for certain, when one reading of it
// is a command whose spec the shim must rewrite.
var ErrCommandLine = errors.New("cannot read the runtime's command line")

// A grammar is what the shim knows of a runtime's global options: which
// take a value, given as the next argument or after "=", and which take
// none. runc and runsc read them with Go's flag package (through
// urfave/cli for runc), which takes "-name" and "--name" alike; crun with
// argp. An option the grammar does not know is read by [grammar.parse]'s
// ambiguity rule.
type grammar struct {
	name   string
	values []string // options that take a value
	flags  []string // options that take none
	stops  []string // options after which there is no command (help, version)
}

// The global options of the runtimes the shim is tested with, from their
// usage: runc 1.1.5 to 1.5.3 (runc --help), crun 1.8.1 to 1.27.1 (src/crun.c),
// runsc 20221219 ("runsc flags"; TestRunscFlags checks the installed one)
// and options of later runsc releases (runsc/config/flags.go).
var (
	runcGrammar = grammar{
		name:   "runc",
		values: []string{"log", "log-format", "root", "criu", "rootless"},
		flags:  []string{"debug", "systemd-cgroup"},
		stops:  []string{"help", "h", "version", "v"},
	}
	crunGrammar = grammar{
		name:   "crun",
		values: []string{"cgroup-manager", "log", "log-format", "log-level", "root", "rootless"},
		flags:  []string{"debug", "systemd-cgroup"},
		stops:  []string{"help", "?", "usage", "version", "v", "V"},
	}
	runscGrammar = grammar{
		name: "runsc",
		values: []string{
			"TESTONLY-test-name-env", "coverage-fd", "coverage-report", "dcache", "debug-command",
			"debug-log", "debug-log-fd", "debug-log-format", "fdlimit", "file-access",
			"file-access-mounts", "gvisor-gro", "host-fifo", "host-uds", "log", "log-fd",
			"log-format", "network", "num-network-channels", "overlay2", "panic-log",
			"panic-log-fd", "panic-signal", "pcap-log", "platform", "platform_device_path",
			"pod-init-config", "profile-block", "profile-cpu", "profile-heap", "profile-mutex",
			"qdisc", "ref-leak-mode", "root", "strace-log-size", "strace-syscalls", "trace",
			"traceback", "watchdog-action",
			// later releases
			"metric-server", "shared-root", "host-settings", "gofer-network-namespace",
		},
		flags: []string{
			"EXPERIMENTAL-afxdp", "TESTONLY-allow-packet-endpoint-write", "TESTONLY-unsafe-nonroot",
			"allow-flag-override", "alsologtostderr", "buffer-pooling", "cgroupfs",
			"cpu-num-from-quota", "debug", "enable-core-tags", "fsgofer-host-uds", "fuse", "gso",
			"ignore-cgroups", "lisafs", "log-packets", "net-raw", "oci-seccomp", "overlay",
			"profile", "rootless", "rx-checksum-offload", "software-gso", "strace",
			"strace-event", "systemd-cgroup", "tx-checksum-offload", "vfs2",
			// later releases
			"directfs", "debug-to-user-log",
		},
		stops: []string{"help", "h", "version"},
	}
)

// grammarFor returns the grammar of the runtime named runtime (a name or
// a path; "runsc", "runc", "crun" and names that start with them, such as
// runc-1.1.5), else one that knows only what the three agree on.
func grammarFor(runtime string) grammar {
	base := filepath.Base(runtime)
	for _, g := range []grammar{runscGrammar, crunGrammar, runcGrammar} {
		if base == g.name || strings.HasPrefix(base, g.name+"-") || strings.HasPrefix(base, g.name+".") {
			return g
		}
	}
	return commonGrammar()
}

// commonGrammar is the grammar of an unknown runtime: the options every
// known grammar reads the same way. An option that takes a value in one
// and none in another (--rootless) is unknown to it.
func commonGrammar() grammar {
	all := []grammar{runcGrammar, crunGrammar, runscGrammar}
	g := grammar{name: "an unknown runtime"}
	for _, k := range all {
		for _, v := range k.values {
			if !slices.Contains(g.values, v) && !anyHas(all, v, func(o grammar) []string { return o.flags }) {
				g.values = append(g.values, v)
			}
		}
		for _, f := range k.flags {
			if !slices.Contains(g.flags, f) && !anyHas(all, f, func(o grammar) []string { return o.values }) {
				g.flags = append(g.flags, f)
			}
		}
		for _, s := range k.stops {
			if !slices.Contains(g.stops, s) {
				g.stops = append(g.stops, s)
			}
		}
	}
	return g
}

func anyHas(gs []grammar, name string, list func(grammar) []string) bool {
	return slices.ContainsFunc(gs, func(g grammar) bool { return slices.Contains(list(g), name) })
}

// rewritten are the commands whose spec or process the shim rewrites: a
// command line that may be one of them must be read for certain.
var rewritten = []string{"create", "run", "exec"}

// optionName returns the name of a global option argument, without its
// one or two dashes and its "=value", and whether it has a value.
func optionName(arg string) (name, value string, hasValue, ok bool) {
	rest, ok := strings.CutPrefix(arg, "--")
	if !ok {
		if rest, ok = strings.CutPrefix(arg, "-"); !ok {
			return "", "", false, false
		}
	}
	if rest == "" || strings.HasPrefix(rest, "-") {
		return "", "", false, false // "-", "--" or "---x": not an option
	}
	name, value, hasValue = strings.Cut(rest, "=")
	return name, value, hasValue, true
}

// parse splits args, what followed the runtime's name, into the global
// options, the command and what follows it. An option it does not know,
// written without "=" and followed by a word, is a boolean unless either
// reading (the word is the command, or the option's value) makes the
// command one the shim rewrites: then the error names the option.
func (g grammar) parse(args []string) (CommandLine, error) {
	var cl CommandLine
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" { // the end of the options: the command follows
			if i+1 < len(args) {
				cl.setCommand(args, i+1)
			}
			return cl, nil
		}
		name, value, hasValue, ok := optionName(a)
		if !ok {
			cl.setCommand(args, i)
			return cl, nil
		}
		switch {
		case slices.Contains(g.stops, name):
			return cl, nil
		case slices.Contains(g.values, name):
			if !hasValue {
				if i+1 >= len(args) {
					return cl, nil
				}
				i++
				value = args[i]
			}
			cl.setGlobal(name, value)
		case slices.Contains(g.flags, name) || hasValue || i+1 >= len(args) || strings.HasPrefix(args[i+1], "-"):
			cl.Globals = append(cl.Globals, "--"+name+valueSuffix(value, hasValue))
		default:
			if err := g.ambiguous(args, i); err != nil {
				return CommandLine{}, err
			}
			cl.Globals = append(cl.Globals, "--"+name)
		}
	}
	return cl, nil
}

// ambiguous checks the reading of the unknown option args[i], followed by
// a word, as a boolean: an error when the word, or the command that
// follows it when it is the option's value, is one the shim rewrites.
func (g grammar) ambiguous(args []string, i int) error {
	word := args[i+1]
	asValue, err := g.parse(args[i+2:])
	if err != nil {
		return err
	}
	if slices.Contains(rewritten, word) || slices.Contains(rewritten, asValue.Command) {
		return fmt.Errorf("%w: global option %q is not one capgen knows for %s, so it cannot tell whether %q is its value or the command; write it as %s=VALUE",
			ErrCommandLine, args[i], g.name, word, args[i])
	}
	return nil
}

func valueSuffix(value string, hasValue bool) string {
	if !hasValue {
		return ""
	}
	return "=" + value
}

// setGlobal records the global option name with its value.
func (cl *CommandLine) setGlobal(name, value string) {
	switch name {
	case "root":
		cl.Root = value
	case "log":
		cl.Log = value
	case "log-format":
		cl.LogFormat = value
	}
	cl.Globals = append(cl.Globals, "--"+name+"="+value)
}

// setCommand makes args[i] the command.
func (cl *CommandLine) setCommand(args []string, i int) {
	cl.Command, cl.Rest, cl.RestAt = args[i], args[i+1:], i+1
}
