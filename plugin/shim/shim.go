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
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/engine"
	"github.com/capgen-dev/capgen/plugin/ociruntime"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"go.podman.io/common/pkg/config"
)

// Prefix is the prefix of the names under which capgen is a runtime
// shim: as capgen-NAME it is the OCI runtime NAME.
const Prefix = "capgen-"

// ErrInput is wrapped by the errors about the bundle a shim is given:
// no config.json, not a runtime spec, or capabilities it cannot rewrite.
var ErrInput = errors.New("invalid bundle for the runtime shim")

// Options configures [Run].
type Options struct {
	// Runtime is the real runtime, NAME of capgen-NAME: a path, or a name
	// resolved as Podman resolves it (containers.conf engine.runtimes,
	// then $PATH), never to the shim itself.
	Runtime string
	// Self is the path of the shim's own executable.
	Self string
	// Config resolves Runtime; nil means config.Default().
	Config *config.Config
	// Prober probes the real runtime; nil is the process-wide one.
	Prober *ociruntime.Prober
	// Stdout receives the features document; Stderr the warnings.
	Stdout, Stderr io.Writer
}

// Exec is what the shim runs once its work is done: the real runtime
// with the arguments the shim was given, unchanged.
type Exec struct {
	Path string
	Args []string
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
// images' and pods' annotations into the spec), and leaves every other
// field as it was. For "features" it prints the real runtime's features
// with ALL_CAPS added to linux.capabilities and the [ociruntime.ShimAnnotation], so
// that an engine that probes the shim writes ["ALL_CAPS"] for --cap-add
// all, which the shim expands. Every other command is passed through.
// Warnings go to opts.Stderr; on an error the real runtime must not run.
func Run(ctx context.Context, args []string, opts Options) (*Exec, error) {
	real, err := opts.realRuntime()
	if err != nil {
		return nil, err
	}
	exec := &Exec{Path: real, Args: args}
	command, rest := runtimeCommand(args)
	switch command {
	case "create", "run":
		if err := opts.rewriteBundle(ctx, real, bundleDir(rest)); err != nil {
			return nil, err
		}
		return exec, nil
	case "features":
		if len(rest) > 0 {
			return exec, nil // an option the shim does not know: the runtime's to answer
		}
		return nil, opts.printFeatures(ctx, real)
	}
	return exec, nil
}

// realRuntime resolves opts.Runtime, passing over the shim's own binary.
func (opts Options) realRuntime() (string, error) {
	path, err := ociruntime.Find(engine.Lookup(opts.Config), opts.Runtime, opts.Self)
	if err != nil {
		return "", fmt.Errorf("runtime shim %s%s: %w", Prefix, opts.Runtime, err)
	}
	return path, nil
}

func (opts Options) prober() *ociruntime.Prober {
	if opts.Prober != nil {
		return opts.Prober
	}
	return engine.Prober()
}

// valueFlags are the global options of runc and crun that take a value as
// the next argument, so that the command is not mistaken for one.
var valueFlags = []string{"--root", "--log", "--log-format", "--criu", "--rootless", "--cgroup-manager"}

// runtimeCommand splits an OCI runtime command line into its command and
// what follows it.
func runtimeCommand(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case slices.Contains(valueFlags, a):
			i++
		case !strings.HasPrefix(a, "-"):
			return a, args[i+1:]
		case a == "--version" || a == "-v":
			return "", nil
		}
	}
	return "", nil
}

// bundleDir returns the bundle of a create or run command line: --bundle
// or -b, else the working directory.
func bundleDir(args []string) string {
	for i, a := range args {
		for _, flag := range []string{"--bundle", "-b"} {
			if a == flag && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, flag+"="); ok {
				return v
			}
		}
	}
	return "."
}

// rewriteBundle rewrites the capabilities of bundle/config.json for the
// runtime at real.
func (opts Options) rewriteBundle(ctx context.Context, real, bundle string) error {
	path := filepath.Join(bundle, "config.json")
	data, mode, err := readConfigFile(path)
	if err != nil {
		return err
	}
	spec, err := plugin.DecodeConfig(data, path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	host, err := plugin.HostEnv()
	if err != nil {
		return fmt.Errorf("runtime shim: %w", err)
	}
	f, err := opts.prober().Probe(ctx, real)
	if err != nil {
		return fmt.Errorf("runtime shim: %w", err)
	}
	warnings, err := plugin.RewriteCapabilities(spec, plugin.Target{Env: host, Features: f})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInput, path, err)
	}
	stderr := opts.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "%s%s: warning: %s\n", Prefix, opts.Runtime, w)
	}
	if spec.Process == nil || spec.Process.Capabilities == nil {
		return nil // nothing to write
	}
	out, err := spliceCapabilities(data, spec.Process.Capabilities)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInput, path, err)
	}
	return writeFileAtomic(path, out, mode)
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

// spliceCapabilities returns config.json data with process.capabilities
// replaced by caps and every other member kept as it was: values are
// copied as their JSON text, so that fields this package's runtime-spec
// does not know survive.
func spliceCapabilities(data []byte, caps any) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	raw, ok := top["process"]
	if !ok {
		return nil, errors.New(`the process is not under the key "process"`)
	}
	var process map[string]json.RawMessage
	if err := json.Unmarshal(raw, &process); err != nil {
		return nil, err
	}
	entries, err := json.Marshal(caps)
	if err != nil {
		return nil, err
	}
	process["capabilities"] = entries
	if top["process"], err = json.Marshal(process); err != nil {
		return nil, err
	}
	return json.Marshal(top)
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory, renamed over it, so the runtime reads the old file or the
// new one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config.json-capgen-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// printFeatures prints the real runtime's features document — or, for a
// runtime without one, a document made from its probe — with ALL_CAPS
// added and the shim's annotation.
func (opts Options) printFeatures(ctx context.Context, real string) error {
	p := opts.prober()
	f, err := p.Probe(ctx, real)
	if err != nil {
		return fmt.Errorf("runtime shim: %w", err)
	}
	doc := features.Features{OCIVersionMin: "1.0.0"}
	if out, err := p.RunFeatures(ctx, real); err == nil {
		if err := json.Unmarshal(out, &doc); err != nil {
			doc = features.Features{OCIVersionMin: "1.0.0"}
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
		doc.Linux = &features.Linux{}
	}
	doc.Linux.Capabilities = append(slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == capnames.AllCaps }), capnames.AllCaps)
	if doc.Annotations == nil {
		doc.Annotations = map[string]string{}
	}
	doc.Annotations[ociruntime.ShimAnnotation] = real
	enc := json.NewEncoder(opts.Stdout)
	enc.SetIndent("", "    ")
	return enc.Encode(doc)
}
