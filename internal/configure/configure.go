// Package configure sets up capgen's precreate hook or runtime shim in an
// engine's own configuration, as an operator would by hand: a
// containers.conf drop-in for Podman and Buildah (and the hook file in
// capgen's own hooks directory), the runtimes entry of Docker's
// daemon.json, a runtime handler in containerd's config.toml, and the
// capgen-NAME link beside the binary. [Plan] computes the changes, which
// [Apply] writes atomically, backing up every file it modifies, and
// [Diff] shows; a plan with no changes means the engine is configured
// already. With Options.Remove the plan undoes exactly what configure
// added: files it created go, files it modified get their original bytes
// back.
//
// It never restarts an engine ([Restart] says which must be) and never
// touches the hooks directories Podman and Buildah share, where a
// precreate hook fails every Buildah command.
package configure

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrUsage is wrapped by the errors about options that do not go together
// or name something configure cannot set up.
var ErrUsage = errors.New("invalid configure options")

// ErrConfig is wrapped by the errors about an engine configuration file
// configure cannot edit safely.
var ErrConfig = errors.New("engine configuration cannot be edited")

// Engine is an engine configure sets up.
type Engine string

// The engines.
const (
	Podman     Engine = "podman"
	Buildah    Engine = "buildah"
	Docker     Engine = "docker"
	Containerd Engine = "containerd"
	Crio       Engine = "crio"
)

// Mode is how capgen meets an engine: as its precreate hook or as its
// runtime shim.
type Mode string

// The modes.
const (
	Hook Mode = "hook"
	Shim Mode = "shim"
)

// Options says what to set up.
type Options struct {
	Engine Engine
	// Mode is Hook or Shim; "" is Shim, and for Podman the shim as its
	// default runtime (SetDefault): the hook sees no exec (HookExecGap).
	// Only Podman has a precreate stage.
	Mode Mode
	// Runtime is NAME, the real runtime of the shim capgen-NAME (and the
	// runtime the hook targets); "" is DefaultRuntime for the shim, and
	// containers.conf's default runtime for the hook.
	Runtime string
	// Config is the file to edit: the drop-in for Podman and Buildah, the
	// daemon.json, the config.toml; "" is the engine's default place.
	Config string
	// Binary is the capgen executable the hook and the shim run. The shim
	// link capgen-NAME goes beside it, to capshim when that is installed
	// there too.
	Binary string
	// HooksDir is capgen's own hooks directory; "" is DefaultHooksDir.
	HooksDir string
	// SetDefault also makes capgen-NAME the engine's default runtime
	// (Podman, Buildah, Docker, CRI-O's default_runtime; for containerd
	// the CRI's default_runtime_name).
	SetDefault bool
	// Remove plans the undoing of what configure added.
	Remove bool

	hookRuntime string // Runtime as given, for the hook: "" is containers.conf's default
}

// HookExecGap is what the precreate hook cannot do, said wherever it is
// offered.
const HookExecGap = "the hook sees no podman exec: a privileged exec gets Podman's own bounding set, " +
	"which fails on a runtime that lacks a name in it (runc before v1.0.0-rc93: unknown capability \"CAP_BPF\"); " +
	"the shim as the default runtime (capgen configure --engine podman) covers exec too"

// The default places of what configure writes.
const (
	DefaultDropInDir        = "/etc/containers/containers.conf.d"
	DefaultHooksDir         = "/etc/containers/capgen/hooks.d"
	DefaultDaemonJSON       = "/etc/docker/daemon.json"
	DefaultContainerdConfig = "/etc/containerd/config.toml"
	DefaultRuntime          = "runc"
	hookFileName            = "99-capgen.json"
	shimPrefix              = "capgen-"
)

// sharedHooksDirs are the hooks directories Podman and Buildah both read
// by default.
var sharedHooksDirs = []string{"/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d"}

// Change is one file configure writes, creates, or removes.
type Change struct {
	Path string
	// Old is the file's content, nil when it does not exist.
	Old []byte
	// New is what it becomes, nil to remove it.
	New []byte
	// Perm is the permission of a created file; a modified file keeps
	// its own.
	Perm os.FileMode
	// LinkTo, when set, makes Path a symbolic link to it (New and Old are
	// then the link targets).
	LinkTo string
	// Backup, when set, is where the original of a modified file is kept,
	// and on removal where it comes back from.
	Backup string
}

// Plan returns the changes that set up (or with Remove, undo) opts.
func Plan(opts Options) ([]Change, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	plan := map[Engine]func(Options) ([]Change, error){
		Podman: planContainersConf, Buildah: planContainersConf, Docker: planDocker, Containerd: planContainerd,
		Crio: planCrio,
	}[opts.Engine]
	if opts.Mode == Hook {
		plan = planHook
	}
	changes, err := plan(opts)
	if err != nil {
		return nil, err
	}
	if opts.Mode == Shim {
		link, err := planLink(opts)
		if err != nil {
			return nil, err
		}
		changes = append(changes, link...)
	}
	return changes, nil
}

func (opts Options) withDefaults() (Options, error) {
	switch opts.Engine {
	case Podman, Buildah, Docker, Containerd, Crio:
	default:
		return opts, fmt.Errorf("%w: engine %q: want podman, buildah, docker, containerd or crio", ErrUsage, opts.Engine)
	}
	if opts.Mode == "" {
		// For Podman the shim covers what the hook cannot, exec, only
		// as the runtime of every container.
		opts.Mode, opts.SetDefault = Shim, opts.SetDefault || opts.Engine == Podman
	}
	switch {
	case opts.Mode != Hook && opts.Mode != Shim:
		return opts, fmt.Errorf("%w: mode %q: want hook or shim", ErrUsage, opts.Mode)
	case opts.Mode == Hook && opts.Engine != Podman:
		return opts, fmt.Errorf("%w: %s has no precreate hooks: use --mode shim", ErrUsage, opts.Engine)
	case opts.Mode == Hook && opts.SetDefault:
		return opts, fmt.Errorf("%w: --set-default is for the shim", ErrUsage)
	}
	opts.hookRuntime = opts.Runtime
	if opts.Runtime == "" {
		opts.Runtime = DefaultRuntime
	}
	if !validName(opts.Runtime) || strings.HasPrefix(opts.Runtime, shimPrefix) {
		return opts, fmt.Errorf("%w: runtime %q: want a runtime name (letters, digits, '.', '_', '-') that is not itself a shim", ErrUsage, opts.Runtime)
	}
	if !filepath.IsAbs(opts.Binary) {
		return opts, fmt.Errorf("%w: capgen binary %q is not an absolute path", ErrUsage, opts.Binary)
	}
	if opts.HooksDir == "" {
		opts.HooksDir = DefaultHooksDir
	}
	if !filepath.IsAbs(opts.HooksDir) || slices.Contains(sharedHooksDirs, filepath.Clean(opts.HooksDir)) {
		return opts, fmt.Errorf("%w: hooks directory %q: want an absolute path of capgen's own, not one Podman and Buildah share (Buildah fails every command on a precreate hook there)", ErrUsage, opts.HooksDir)
	}
	return opts, nil
}

// validName reports whether name is a runtime name configure writes into
// TOML keys, JSON keys and file names unquoted: ASCII letters, digits, '.',
// '_' and '-', not starting with '.' or '-'.
func validName(name string) bool {
	if name == "" || len(name) > 64 || name[0] == '.' || name[0] == '-' {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// shimName is capgen-NAME.
func (opts Options) shimName() string { return shimPrefix + opts.Runtime }

// shimPath is where the capgen-NAME link goes: beside the binary.
func (opts Options) shimPath() string {
	return filepath.Join(filepath.Dir(opts.Binary), opts.shimName())
}

// Restart names the engine process that must be restarted for a change
// to its configuration to take effect, or "" when the engine reads it
// afresh for every command (Podman, Buildah).
func Restart(e Engine) string {
	switch e {
	case Docker:
		return "dockerd"
	case Containerd:
		return "containerd"
	case Crio:
		return "crio"
	}
	return ""
}

// readFile returns the content of path, nil when it does not exist.
func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}
