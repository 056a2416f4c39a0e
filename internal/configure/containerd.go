package configure

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/BurntSushi/toml"
)

// criRuntimes is the table of containerd's CRI runtime handlers in a
// version 2 config.toml.
const criRuntimes = `plugins."io.containerd.grpc.v1.cri".containerd.runtimes`

// planContainerd is the shim for containerd: a CRI runtime handler
// capgen-NAME of type io.containerd.runc.v2 whose runc binary is the shim,
// appended to config.toml between two comment lines, so that every other
// byte of the file, comments included, stays as it was, and removal cuts
// exactly that block out again. ctr takes the shim with --runc-binary, and
// Kubernetes selects the handler with a RuntimeClass (see RuntimeClass).
func planContainerd(opts Options) ([]Change, error) {
	path := opts.Config
	if path == "" {
		path = DefaultContainerdConfig
	}
	old, err := readFile(path)
	if err != nil {
		return nil, err
	}
	begin := []byte(fmt.Sprintf("\n# capgen configure: the runtime handler %s (--remove removes this block).\n", opts.shimName()))
	end := []byte(fmt.Sprintf("# capgen configure: end of %s.\n", opts.shimName()))
	without, found := cutBlock(old, begin, end)
	if opts.Remove {
		switch {
		case !found:
			return nil, nil
		case string(without) == containerdHeader:
			return []Change{{Path: path, Old: old}}, nil // configure created it
		}
		changes := []Change{{Path: path, Old: old, New: without}}
		backup := path + ".capgen-backup"
		if original, err := readFile(backup); err == nil && bytes.Equal(original, without) {
			changes = append(changes, Change{Path: backup, Old: original})
		}
		return changes, nil
	}
	base := without
	if len(bytes.TrimSpace(base)) == 0 {
		base = []byte(containerdHeader)
	}
	if err := checkContainerdBase(path, base, opts.shimName()); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(base)
	b.Write(begin)
	fmt.Fprintf(&b, "[%s.%s]\n  runtime_type = \"io.containerd.runc.v2\"\n", criRuntimes, strconv.Quote(opts.shimName()))
	fmt.Fprintf(&b, "[%s.%s.options]\n  BinaryName = %s\n", criRuntimes, strconv.Quote(opts.shimName()), strconv.Quote(opts.shimPath()))
	b.Write(end)
	out := b.Bytes()
	if bytes.Equal(out, old) {
		return nil, nil
	}
	var check containerdConfig
	if _, err := toml.Decode(string(out), &check); err != nil {
		return nil, fmt.Errorf("%w: %s with the handler added does not parse: %w", ErrConfig, path, err)
	}
	if got := check.handler(opts.shimName()); got.Options.BinaryName != opts.shimPath() {
		return nil, fmt.Errorf("%w: %s with the handler added names runc binary %q for %s", ErrConfig, path, got.Options.BinaryName, opts.shimName())
	}
	var backup string
	if old != nil {
		backup = path + ".capgen-backup"
	}
	return []Change{{Path: path, Old: old, New: out, Perm: 0o644, Backup: backup}}, nil
}

// containerdHeader begins a config.toml configure creates.
const containerdHeader = "version = 2\n"

// containerdConfig is what configure reads of a config.toml.
type containerdConfig struct {
	Version int `toml:"version"`
	Plugins map[string]struct {
		Containerd struct {
			Runtimes map[string]containerdHandler `toml:"runtimes"`
		} `toml:"containerd"`
	} `toml:"plugins"`
}

type containerdHandler struct {
	RuntimeType string `toml:"runtime_type"`
	Options     struct {
		BinaryName string `toml:"BinaryName"`
	} `toml:"options"`
}

func (c containerdConfig) handler(name string) containerdHandler {
	return c.Plugins["io.containerd.grpc.v1.cri"].Containerd.Runtimes[name]
}

// checkContainerdBase checks that configure can append the handler name to
// the config.toml data: a version 2 config that defines no such handler
// of its own.
func checkContainerdBase(path string, data []byte, name string) error {
	var c containerdConfig
	if _, err := toml.Decode(string(data), &c); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	if c.Version != 2 {
		return fmt.Errorf("%w: %s is a version %d config; configure writes version 2 (containerd 1.5 and later: containerd config migrate)", ErrConfig, path, c.Version)
	}
	if _, ok := c.Plugins["io.containerd.grpc.v1.cri"].Containerd.Runtimes[name]; ok {
		return fmt.Errorf("%w: %s already defines the runtime handler %s, not in capgen configure's block: edit it by hand", ErrConfig, path, name)
	}
	return nil
}

// cutBlock returns data without the first block from begin through end,
// and whether there was one.
func cutBlock(data, begin, end []byte) ([]byte, bool) {
	i := bytes.Index(data, begin)
	if i < 0 {
		return data, false
	}
	j := bytes.Index(data[i:], end)
	if j < 0 {
		return data, false
	}
	return append(bytes.Clone(data[:i]), data[i+j+len(end):]...), true
}

// RuntimeClass is the Kubernetes RuntimeClass that selects the containerd
// handler configure adds for runtime ("" is DefaultRuntime).
func RuntimeClass(runtime string) string {
	if runtime == "" {
		runtime = DefaultRuntime
	}
	name := shimPrefix + runtime
	return fmt.Sprintf("apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: %s\nhandler: %s\n", name, name)
}
