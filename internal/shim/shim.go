// Package shim is capgen's runtime shim, for engines that call no hook (Buildah, Docker,
// containerd, CRI-O) or that an administrator would rather not configure
// with one: the engine is told that capgen-NAME is its OCI runtime, and
// capgen, invoked under that name, passes every command through to the real
// runtime NAME, rewriting only the process.capabilities of the bundle's
// config.json before create and run. It is the pattern of
// nvidia-container-runtime.
package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/internal/capsplice"
	"github.com/capgen-dev/capgen/internal/shim/record"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// Prefix is the prefix of the names under which capgen is a runtime
// shim: as capgen-NAME it is the OCI runtime NAME.
const Prefix = record.Prefix

// ErrInput is wrapped by the errors about the bundle a shim is given:
// no config.json, not a runtime spec, or capabilities it cannot rewrite.
var ErrInput = errors.New("invalid bundle for the runtime shim")

// Options configures [Run].
type Options struct {
	// Runtime is the real runtime, NAME of capgen-NAME: a path, or a name
	// resolved as Podman resolves it (containers.conf engine.runtimes, see
	// Lookup, then $PATH), never to the shim itself.
	Runtime string
	// Self are the paths of the shim's own executables (capgen, and
	// capshim when capgen-NAME links to it), which Runtime never resolves to.
	Self []string
	// Lookup returns the paths containers.conf's engine.runtimes table
	// lists for a runtime name, which are tried before $PATH; nil looks in
	// $PATH alone.
	Lookup func(name string) []string
	// Prober probes the real runtime; nil is one of the default cache
	// directory that resolves names with Lookup.
	Prober *ociruntime.Prober
	// Stdout receives the features document.
	Stdout io.Writer
	// LogFile is where the shim's warnings go when the engine passes the
	// runtime no --log; "" is [DefaultLogFile]. They never go to stdout
	// or stderr, which are the container's when it has no terminal.
	LogFile string
	// RecordDir is where the shim records which real runtime created a
	// container when the engine passes no --root; "" is [record.DefaultDir].
	RecordDir string
}

// Exec is what the shim runs once its work is done: the real runtime
// with the arguments the shim was given, unchanged but for the --cap
// options of exec. When After is set, the caller runs the runtime as a
// child instead of exec'ing it, and calls After with its exit status.
type Exec struct {
	Path  string
	Args  []string
	After func(exitCode int)
}

// Run does the work of one invocation of the shim with args, what
// followed its name on the command line, and returns the command to exec
// in its place, or nil when the shim answered itself.
//
// For "create" and "run" it rewrites process.capabilities of the bundle's
// config.json as the precreate hook does ([plugin.RewriteCapabilities], for the
// real runtime's probed features, trial included), except that it never
// widens a list beyond what the engine wrote (it leaves
// plugin.Target.TrustPrivileged false: engines other than Podman copy users',
// images' and pods' annotations into the spec). Only the text of the lists
// that change is replaced, and a file with nothing to change is not
// written. It then records the real runtime for the container, so that its
// later commands, which engines may run with no environment (Podman runs
// "start" and "delete" so), reach the same runtime; "delete" removes the
// record once the runtime has deleted the container. "exec" gets the same
// treatment as create: the process file of --process, and the values of
// --cap. For "features" it prints the real runtime's features with
// ALL_CAPS added to linux.capabilities and the [ociruntime.ShimAnnotation],
// so that an engine that probes the shim writes ["ALL_CAPS"] for --cap-add
// all, which the shim expands. Every other command is passed through.
//
// Warnings go where the runtime logs (--log, in --log-format), else to
// opts.LogFile; on an error the real runtime must not run.
func Run(ctx context.Context, args []string, opts Options) (*Exec, error) {
	if opts.Prober == nil {
		opts.Prober = &ociruntime.Prober{Lookup: opts.Lookup}
	}
	cl, err := record.Parse(opts.Runtime, args)
	if err != nil {
		return nil, fmt.Errorf("runtime shim %s%s: %w", Prefix, opts.Runtime, err)
	}
	records := cl.Dir(opts.RecordDir)
	real, globals, err := opts.runtimeFor(cl, records)
	if err != nil {
		return nil, err
	}
	log := opts.logger(cl)
	defer log.flush()
	target := opts.targetOnce(real, globals)
	exec := &Exec{Path: real, Args: args}
	switch cl.Command {
	case "create", "run":
		if err := opts.rewriteFile(ctx, target, filepath.Join(cl.Bundle(), "config.json"), configFile, log); err != nil {
			return nil, err
		}
		// A run that is not detached ends with its container, and leaves no
		// later command to record the runtime for.
		if id := cl.ContainerID(); id != "" && (cl.Command == "create" || cl.Detached()) {
			if err := record.Write(records, id, record.Record{Runtime: real, Globals: ociruntime.TrialGlobals(cl.Globals)}); err != nil {
				log.add(fmt.Sprintf("recording the runtime of container %s: %v", id, err))
			}
		}
	case "exec":
		if file, ok := cl.Option("--process", "-p"); ok {
			if err := opts.rewriteFile(ctx, target, file, processFile, log); err != nil {
				return nil, err
			}
		}
		if exec.Args, err = opts.rewriteCapFlags(ctx, target, args, cl, log); err != nil {
			return nil, err
		}
	case "delete":
		if id := cl.ContainerID(); id != "" {
			exec.After = func(code int) {
				if code == 0 {
					record.Remove(records, id)
				}
			}
		}
	case "features":
		if len(cl.Rest) > 0 {
			return exec, nil // an option the shim does not know: the runtime's to answer
		}
		return nil, opts.printFeatures(ctx, real, globals)
	}
	return exec, nil
}

// runtimeFor returns the real runtime of the command line and the global
// options to probe it with: those recorded for its container at its
// create, else opts.Runtime resolved, passing over the shim's own binary,
// and the command line's. create and run always resolve.
func (opts Options) runtimeFor(cl record.CommandLine, records string) (string, []string, error) {
	if r, ok := cl.LookupRecord(records); ok {
		return r.Runtime, r.Globals, nil
	}
	path, err := ociruntime.Find(opts.Lookup, opts.Runtime, opts.Self...)
	if err != nil {
		return "", nil, fmt.Errorf("runtime shim %s%s: %w", Prefix, opts.Runtime, err)
	}
	return path, cl.Globals, nil
}

// targetOnce returns a function that returns what the shim rewrites
// capabilities for: this machine and the real runtime, never trusting
// annotations. It reads the machine and probes the runtime at its first
// call, as the engine runs it (with its global options), and answers later
// calls (exec's process file and --cap) from that.
func (opts Options) targetOnce(real string, globals []string) func(context.Context) (plugin.Target, error) {
	var (
		target plugin.Target
		err    error
		done   bool
	)
	return func(ctx context.Context) (plugin.Target, error) {
		if done {
			return target, err
		}
		done = true
		host, herr := plugin.HostEnv()
		if herr != nil {
			err = fmt.Errorf("runtime shim: %w", herr)
			return target, err
		}
		f, perr := opts.Prober.ProbeWith(ctx, nil, real, globals)
		if perr != nil {
			err = fmt.Errorf("runtime shim: %w", perr)
			return target, err
		}
		target = plugin.Target{Env: host, Features: f}
		return target, nil
	}
}

// capFile is a kind of JSON file whose capability lists the shim rewrites.
type capFile struct {
	// at is the path of keys from the top to the object of the lists.
	at []string
	// decode reads the file into a spec holding a process.
	decode func(data []byte, path string) (*specs.Spec, error)
}

var (
	// configFile is a bundle's config.json, of which the shim decodes only
	// what it rewrites the lists for.
	configFile = capFile{at: []string{"process", "capabilities"}, decode: func(data []byte, path string) (*specs.Spec, error) {
		spec, err := plugin.DecodeCapabilities(data, path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInput, err)
		}
		return spec, nil
	}}
	// processFile is the process of exec --process.
	processFile = capFile{at: []string{"capabilities"}, decode: func(data []byte, path string) (*specs.Spec, error) {
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("%w: %s is not a runtime spec process: %w", ErrInput, path, err)
		}
		return &specs.Spec{Process: &p}, nil
	}}
)

// rewriteFile rewrites the capability lists of the file of kind at path.
func (opts Options) rewriteFile(ctx context.Context, target func(context.Context) (plugin.Target, error), path string, kind capFile, log *logger) error {
	data, mode, err := readConfigFile(path)
	if err != nil {
		return err
	}
	spec, err := kind.decode(data, path)
	if err != nil {
		return err
	}
	if spec.Process == nil || spec.Process.Capabilities == nil {
		return nil // nothing to rewrite
	}
	before := *spec.Process.Capabilities
	t, err := target(ctx)
	if err != nil {
		return err
	}
	warnings, err := plugin.RewriteCapabilities(spec, t)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInput, path, err)
	}
	log.add(warnings...)
	changed := capsplice.Changed(&before, spec.Process.Capabilities)
	if len(changed) == 0 {
		return nil
	}
	out, err := capsplice.Splice(data, kind.at, changed)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInput, path, err)
	}
	return record.WriteFileAtomic(path, out, mode)
}

// rewriteCapFlags returns args with the values of exec's --cap options
// rewritten as the bounding list of a spec would be: entries the runtime
// cannot apply dropped, numerals and ALL_CAPS made what it takes.
func (opts Options) rewriteCapFlags(ctx context.Context, target func(context.Context) (plugin.Target, error), args []string, cl record.CommandLine, log *logger) ([]string, error) {
	end := cl.OptionsEnd()
	var caps, kept []string // the --cap values, and the other options
	for i := 0; i < end; i++ {
		a := cl.Rest[i]
		if v, ok := strings.CutPrefix(a, "--cap="); ok {
			caps = append(caps, v)
			continue
		}
		if (a == "--cap" || a == "-c") && i+1 < end {
			caps = append(caps, cl.Rest[i+1])
			i++
			continue
		}
		kept = append(kept, a)
	}
	if caps == nil {
		return args, nil
	}
	t, err := target(ctx)
	if err != nil {
		return nil, err
	}
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: caps}}}
	warnings, err := plugin.RewriteCapabilities(spec, t)
	if err != nil {
		return nil, fmt.Errorf("%w: exec --cap: %w", ErrInput, err)
	}
	for _, w := range warnings {
		log.add("exec --cap: " + w)
	}
	out := slices.Clone(args[:cl.RestAt])
	for _, c := range spec.Process.Capabilities.Bounding {
		out = append(out, "--cap", c)
	}
	return slices.Concat(out, kept, cl.Rest[end:]), nil
}

// readConfigFile reads a config.json of at most plugin.MaxSpecSize bytes.
func readConfigFile(path string) ([]byte, os.FileMode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrInput, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrInput, err)
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%w: %s is not a regular file", ErrInput, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, plugin.MaxSpecSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrInput, err)
	}
	if len(data) > plugin.MaxSpecSize {
		return nil, 0, fmt.Errorf("%w: %s is larger than %d bytes", ErrInput, path, plugin.MaxSpecSize)
	}
	return data, st.Mode().Perm(), nil
}

// printFeatures prints the real runtime's features document — or, for a
// runtime without one, a document made from its probe with the global
// options globals — with the shim's annotation and its advertisement in
// linux.capabilityExtensions (docs/proposal.md): ALL_CAPS, which the shim
// expands, and numerals when the real runtime takes them. The names are
// what the real runtime takes, as runtime-spec's schema has them: names
// only.
func (opts Options) printFeatures(ctx context.Context, real string, globals []string) error {
	p := opts.Prober
	f, err := p.ProbeWith(ctx, nil, real, globals)
	if err != nil {
		return fmt.Errorf("runtime shim: %w", err)
	}
	doc := ociruntime.Document{Features: features.Features{OCIVersionMin: "1.0.0"}}
	if out, err := p.RunFeatures(ctx, real); err == nil {
		if err := json.Unmarshal(out, &doc); err != nil {
			doc = ociruntime.Document{Features: features.Features{OCIVersionMin: "1.0.0"}}
		}
	}
	names := f.Names
	if f.Unknown {
		// As the shim will treat it: the table's names of the kernel.
		last, err := capnames.KernelLast()
		if err != nil {
			return fmt.Errorf("runtime shim: %w", err)
		}
		names = capnames.UpTo(last).Strings()
	}
	if doc.Linux == nil {
		doc.Linux = &ociruntime.Linux{}
	}
	doc.Linux.Capabilities = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == capnames.AllCaps })
	ext := &ociruntime.CapabilityExtensions{AllCaps: ociruntime.Enable()}
	if f.Numerals {
		ext.Numerals = ociruntime.Enable()
	}
	doc.Linux.CapabilityExtensions = ext
	if doc.Annotations == nil {
		doc.Annotations = map[string]string{}
	}
	doc.Annotations[ociruntime.ShimAnnotation] = real
	enc := json.NewEncoder(opts.Stdout)
	enc.SetIndent("", "    ")
	return enc.Encode(doc)
}
