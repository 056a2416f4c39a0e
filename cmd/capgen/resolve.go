package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/engine"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
	"go.podman.io/common/pkg/config"
)

// fallbackRuntime is the runtime resolve asks about when containers.conf
// names none.
const fallbackRuntime = "runc"

type resolveOptions struct {
	runtime    string
	policy     string
	adds       []string
	drops      []string
	privileged bool
	user       string
	userns     string
	imageLabel string
	asJSON     bool
	cacheDir   string
	// runtimeFlags are the --runtime-flag values.
	runtimeFlags []string
}

func newResolveCommand() *cobra.Command {
	var o resolveOptions
	cmd := &cobra.Command{
		Use:   "resolve",
		Short: "Print the process.capabilities an engine would hand to a runtime",
		Long: `Resolve computes a container's process.capabilities as Podman does
(containers.conf default_capabilities, --cap-add, --cap-drop, --privileged,
--user, the image's io.containers.capabilities label) for this kernel and
this process's bounding set, writes them in the form the runtime takes
(--policy auto, names, numeric or all-caps), and prints the five lists and a
report of every requested capability left out and why.

--runtime is a runtime name from containers.conf (engine.runtimes) or a
path; it defaults to containers.conf's engine.runtime, as Podman's does, or
"runc" when that is empty.

Run by a user other than root, it answers for that user's rootless engine:
its containers run in a user namespace of their own, whose bounding set is
full whatever the user's, so the bounding set is the kernel's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runResolve(cmd, &o, probeIn(o.cacheDir, o.runtimeFlags))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.runtime, "runtime", "", "OCI `RUNTIME`: a containers.conf name or a path (default: containers.conf engine.runtime, else runc)")
	f.StringVar(&o.policy, "policy", plugin.Auto.String(), "entry form `POLICY`: auto, names, numeric or all-caps")
	f.StringSliceVar(&o.adds, "cap-add", nil, "`CAPS` to add, comma-separated, or \"all\" (repeatable)")
	f.StringSliceVar(&o.drops, "cap-drop", nil, "`CAPS` to drop, comma-separated, or \"all\" (repeatable)")
	f.BoolVar(&o.privileged, "privileged", false, "every capability of the bounding set")
	f.StringVar(&o.user, "user", "", "`USER` the container runs as: a name, a uid or user:group")
	f.StringVar(&o.userns, "userns", "", "user namespace `MODE`, as Podman's --userns (keep-id makes an empty --user the invoking user)")
	f.StringVar(&o.imageLabel, "image-label", "", "`VALUE` of the image's io.containers.capabilities label")
	f.BoolVar(&o.asJSON, "json", false, "print JSON")
	addRuntimeFlagFlag(cmd, &o.runtimeFlags)
	addCacheDirFlag(cmd, &o.cacheDir)
	return cmd
}

// resolved is what resolve prints with --json.
type resolved struct {
	Capabilities resolvedLists  `json:"capabilities"`
	Report       *plugin.Report `json:"report"`
}

// resolvedLists are the five lists, all of them present even when empty.
type resolvedLists struct {
	Bounding    []string `json:"bounding"`
	Effective   []string `json:"effective"`
	Inheritable []string `json:"inheritable"`
	Permitted   []string `json:"permitted"`
	Ambient     []string `json:"ambient"`
}

func runResolve(cmd *cobra.Command, o *resolveOptions, probe probeFunc) error {
	req, err := resolveRequest(cmd, o, probe)
	if err != nil {
		return err
	}
	spec := &specs.Spec{}
	report, err := plugin.Apply(spec, req)
	if err != nil {
		return err
	}
	c := spec.Process.Capabilities
	out := resolved{
		Capabilities: resolvedLists{c.Bounding, c.Effective, c.Inheritable, c.Permitted, c.Ambient},
		Report:       report,
	}
	if o.asJSON {
		return printJSON(cmd.OutOrStdout(), out)
	}
	return printResolved(cmd.OutOrStdout(), out, req.Runtime)
}

// resolveRequest checks resolve's flags, reads containers.conf and probes
// the runtime, and returns the request to apply.
func resolveRequest(cmd *cobra.Command, o *resolveOptions, probe probeFunc) (plugin.Request, error) {
	policy, err := plugin.ParsePolicy(o.policy)
	if err != nil {
		return plugin.Request{}, fmt.Errorf("--policy: %w", err)
	}
	keepID, err := isKeepID(o.userns)
	if err != nil {
		return plugin.Request{}, err
	}
	conf, err := config.Default()
	if err != nil {
		return plugin.Request{}, fmt.Errorf("reading containers.conf: %w", err)
	}
	features, err := probe(cmd.Context(), cmp.Or(o.runtime, conf.Engine.OCIRuntime, fallbackRuntime))
	if err != nil {
		return plugin.Request{}, fmt.Errorf("--runtime: %w", err)
	}
	defaults, err := engine.DefaultCapabilities()
	if err != nil {
		return plugin.Request{}, err
	}
	c := plugin.PodmanContainer{Privileged: o.privileged, Defaults: defaults, Adds: o.adds, Drops: o.drops, User: o.user, KeepID: keepID}
	if cmd.Flags().Changed("image-label") {
		c.Labels = map[string]string{plugin.ImageLabel: o.imageLabel}
	}
	req := plugin.PodmanRequest(c)
	req.Policy, req.Runtime = policy, features
	if os.Geteuid() != 0 {
		// An unprivileged user's engine is rootless: its containers run
		// in a user namespace, whose bounding set is full.
		if req.Env, err = plugin.UserNSEnv(); err != nil {
			return plugin.Request{}, err
		}
	}
	return req, nil
}

// usernsModes are the modes of Podman's --userns, the part before ":".
var usernsModes = []string{"auto", "container", "host", "keep-id", "nomap", "ns", "private"}

// isKeepID reports whether userns, a value of Podman's --userns, is keep-id
// (with or without options), the one mode that changes capabilities.
func isKeepID(userns string) (bool, error) {
	if userns == "" {
		return false, nil
	}
	mode, _, _ := strings.Cut(userns, ":")
	if !slices.Contains(usernsModes, mode) {
		return false, fmt.Errorf("--userns %q: unknown user namespace mode %q (want one of %s)",
			userns, mode, strings.Join(usernsModes, ", "))
	}
	return mode == "keep-id", nil
}

// wrapWidth is where printResolved wraps lists of entries.
const wrapWidth = 100

func printResolved(w io.Writer, out resolved, features *plugin.Features) error {
	r := out.Report
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "runtime\t%s\n", runtimeLine(features))
	fmt.Fprintf(tw, "learned\t%s\n", learnedLine(r.Learned))
	fmt.Fprintf(tw, "policy\t%s\n", r.Policy)
	all := ""
	if r.All {
		all = ` ("all")`
	}
	fmt.Fprintf(tw, "requested\t%d%s\n", r.Requested.Len(), all)
	fmt.Fprintf(tw, "granted\t%d\n", r.Granted.Len())
	fmt.Fprintln(tw)
	c := out.Capabilities
	for _, l := range []struct {
		name    string
		entries []string
	}{
		{"bounding", c.Bounding}, {"effective", c.Effective}, {"inheritable", c.Inheritable},
		{"permitted", c.Permitted}, {"ambient", c.Ambient},
	} {
		lines := wrap(l.entries, wrapWidth)
		fmt.Fprintf(tw, "%s\t%d\t%s\n", l.name, len(l.entries), lines[0])
		for _, line := range lines[1:] {
			fmt.Fprintf(tw, "\t\t%s\n", line)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Omitted) > 0 {
		fmt.Fprintln(w, "\nleft out:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, om := range r.Omitted {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", om.Name, om.Cap, om.Reason, om.Text)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, warning := range r.Warnings {
			fmt.Fprintf(w, "  %s\n", warning)
		}
	}
	return nil
}

// runtimeLine describes the runtime: "runc 1.1.5 (/usr/sbin/runc)", and
// why its features are unknown when they are.
func runtimeLine(f *plugin.Features) string {
	s := cmp.Or(f.Version, f.Runtime)
	if f.Version != "" && f.Runtime != "" {
		s += " (" + f.Runtime + ")"
	}
	if f.Unknown {
		s += "; features unknown: " + f.Reason
	}
	var takes []string
	if f.Numerals {
		takes = append(takes, "numerals")
	}
	if f.AllCaps {
		takes = append(takes, "ALL_CAPS")
	}
	if len(takes) > 0 {
		s += "; takes " + strings.Join(takes, " and ")
	}
	return s
}

// learnedLine says how the runtime's capabilities were learned.
func learnedLine(s plugin.Source) string {
	switch s {
	case plugin.FromFeatures:
		return "features: the runtime's features command lists them"
	case plugin.FromTrial:
		return "trial: throwaway containers showed what the runtime applies"
	}
	return "assumed: unverified for this runtime (see warnings)"
}

// wrap joins entries with spaces into lines of at most width bytes, one
// entry per line at least; it returns one line, "-", for no entries.
func wrap(entries []string, width int) []string {
	if len(entries) == 0 {
		return []string{"-"}
	}
	var lines []string
	line := entries[0]
	for _, e := range entries[1:] {
		if len(line)+1+len(e) > width {
			lines = append(lines, line)
			line = e
			continue
		}
		line += " " + e
	}
	return append(lines, line)
}
