package configure

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.podman.io/common/pkg/config"
	hook "go.podman.io/common/pkg/hooks/1.0.0"
)

// planContainersConf is the shim for Podman or Buildah: a drop-in of its
// own in containers.conf.d naming capgen-NAME in [engine.runtimes] and,
// with SetDefault, as engine.runtime; and in each runtime_supports_* list
// that names NAME, so that Podman treats the shim as it treats the runtime
// (runtime_supports_json: it reads the runtime's errors from a JSON log,
// and reports them in the same words). Podman 4 has no {append=true}: the
// drop-in lists those lists' loaded values. Both engines read it afresh
// for every command, and Buildah's RUN uses the same runtimes.
func planContainersConf(opts Options) ([]Change, error) {
	path := opts.Config
	if path == "" {
		path = filepath.Join(DefaultDropInDir, "50-capgen-"+opts.Runtime+".conf")
	}
	var engine strings.Builder
	if opts.SetDefault {
		fmt.Fprintf(&engine, "runtime = %s\n", strconv.Quote(opts.shimName()))
	}
	if !opts.Remove {
		supports, err := currentRuntimeSupports()
		if err != nil {
			return nil, err
		}
		for _, s := range supports {
			if slices.Contains(s.names, opts.Runtime) {
				names := append(slices.DeleteFunc(slices.Clone(s.names), func(n string) bool { return n == opts.shimName() }), opts.shimName())
				fmt.Fprintf(&engine, "# The loaded %s, and the shim, as %s is in it.\n%s = [%s]\n", s.key, opts.Runtime, s.key, quoteAll(names))
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# The runtime shim %s, written by capgen configure; --remove removes this file.\n", opts.shimName())
	if engine.Len() > 0 {
		fmt.Fprintf(&b, "[engine]\n%s\n", engine.String())
	}
	fmt.Fprintf(&b, "[engine.runtimes]\n%s = [%s]\n", opts.shimName(), strconv.Quote(opts.shimPath()))
	return ownFile(path, []byte(b.String()), 0o644, opts.Remove)
}

// A runtimeSupport is one of containers.conf's runtime_supports_* lists.
type runtimeSupport struct {
	key   string
	names []string
}

// currentRuntimeSupports returns containers.conf's runtime_supports_json,
// _nocgroups and _kvm as the engines load them, by containers/common's
// own loader.
var currentRuntimeSupports = func() ([]runtimeSupport, error) {
	cfg, err := config.New(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: reading containers.conf: %w", ErrConfig, err)
	}
	return []runtimeSupport{
		{"runtime_supports_json", cfg.Engine.RuntimeSupportsJSON.Get()},
		{"runtime_supports_nocgroups", cfg.Engine.RuntimeSupportsNoCgroups.Get()},
		{"runtime_supports_kvm", cfg.Engine.RuntimeSupportsKVM.Get()},
	}, nil
}

// quoteAll returns names as TOML strings separated by ", ".
func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return strings.Join(quoted, ", ")
}

// planHook is the precreate hook for Podman: the hook file in capgen's own
// hooks directory, and a drop-in adding that directory to the hooks
// directories Podman reads now. The drop-in lists those explicitly,
// since Podman 4 (containers/common before v0.59) has no {append=true}.
func planHook(opts Options) ([]Change, error) {
	hookFile, err := ownFile(filepath.Join(opts.HooksDir, hookFileName), hookJSON(opts), 0o644, opts.Remove)
	if err != nil {
		return nil, err
	}
	path := opts.Config
	if path == "" {
		path = filepath.Join(DefaultDropInDir, "50-capgen-hook.conf")
	}
	var dirs []string
	if !opts.Remove {
		if dirs, err = currentHooksDirs(); err != nil {
			return nil, err
		}
	}
	dirs = append(slices.DeleteFunc(dirs, func(d string) bool { return filepath.Clean(d) == filepath.Clean(opts.HooksDir) }), opts.HooksDir)
	dropIn := fmt.Sprintf("# capgen's precreate hook, written by capgen configure; --remove removes this file.\n"+
		"# The hooks directories Podman read before it, and capgen's own.\n[engine]\nhooks_dir = [%s]\n", quoteAll(dirs))
	conf, err := ownFile(path, []byte(dropIn), 0o644, opts.Remove)
	if err != nil {
		return nil, err
	}
	return append(hookFile, conf...), nil
}

// currentHooksDirs returns the hooks directories of the containers.conf
// Podman reads, by containers/common's own loader.
var currentHooksDirs = func() ([]string, error) {
	cfg, err := config.New(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: reading containers.conf: %w", ErrConfig, err)
	}
	return cfg.Engine.HooksDir.Get(), nil
}

// hookJSON is the hook file (containers/common's hooks schema 1.0.0)
// running opts.Binary as the precreate hook of every container, for
// opts.Runtime when it was given, else containers.conf's default runtime:
// cmd/capgen/hooks.d/99-capgen.json with the binary's path.
func hookJSON(opts Options) []byte {
	args := []string{filepath.Base(opts.Binary), "hook"}
	if opts.hookRuntime != "" {
		args = append(args, "--runtime", opts.hookRuntime)
	}
	timeout, always := 10, true
	data, _ := json.MarshalIndent(hook.Hook{
		Version: hook.Version,
		Hook: specs.Hook{Path: opts.Binary, Args: args, Timeout: &timeout,
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		When:   hook.When{Always: &always},
		Stages: []string{"precreate"},
	}, "", "  ")
	return append(data, '\n')
}

// ownFile is a file that is configure's alone: written whole, and removed
// whole.
func ownFile(path string, content []byte, perm os.FileMode, remove bool) ([]Change, error) {
	old, err := readFile(path)
	if err != nil {
		return nil, err
	}
	switch {
	case remove && old == nil, !remove && old != nil && string(old) == string(content):
		return nil, nil
	case remove:
		return []Change{{Path: path, Old: old}}, nil
	}
	return []Change{{Path: path, Old: old, New: content, Perm: perm}}, nil
}
