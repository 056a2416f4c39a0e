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
// with SetDefault, as engine.runtime. Both engines read it afresh for
// every command, and Buildah's RUN uses the same runtimes.
func planContainersConf(opts Options) ([]Change, error) {
	path := opts.Config
	if path == "" {
		path = filepath.Join(DefaultDropInDir, "50-capgen-"+opts.Runtime+".conf")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# The runtime shim %s, written by capgen configure; --remove removes this file.\n", opts.shimName())
	if opts.SetDefault {
		fmt.Fprintf(&b, "[engine]\nruntime = %s\n\n", strconv.Quote(opts.shimName()))
	}
	fmt.Fprintf(&b, "[engine.runtimes]\n%s = [%s]\n", opts.shimName(), strconv.Quote(opts.shimPath()))
	return ownFile(path, []byte(b.String()), 0o644, opts.Remove)
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
	quoted := make([]string, len(dirs))
	for i, d := range dirs {
		quoted[i] = strconv.Quote(d)
	}
	dropIn := fmt.Sprintf("# capgen's precreate hook, written by capgen configure; --remove removes this file.\n"+
		"# The hooks directories Podman read before it, and capgen's own.\n[engine]\nhooks_dir = [%s]\n", strings.Join(quoted, ", "))
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
