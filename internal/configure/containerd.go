package configure

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"

	"github.com/BurntSushi/toml"
)

// criPlugin is the plugin whose containerd table holds the CRI runtime
// handlers and default_runtime_name, by config version: containerd 1.x's
// version 2 has them in the CRI plugin; containerd 2.x's versions 3 and 4
// (v2.4's `containerd config default`) in the CRI's runtime half.
func criPlugin(version int) string {
	if version >= 3 {
		return "io.containerd.cri.v1.runtime"
	}
	return "io.containerd.grpc.v1.cri"
}

// criTable is the TOML name of the CRI plugin's containerd table.
func criTable(version int) string {
	return "plugins." + strconv.Quote(criPlugin(version)) + ".containerd"
}

// planContainerd is the shim for containerd: a CRI runtime handler
// capgen-NAME of type io.containerd.runc.v2 whose runc binary is the shim,
// appended to config.toml between two comment lines, in the layout of the
// file's version (2, 3 or 4; never migrated), so that every other byte of
// the file, comments included, stays as it was, and removal cuts exactly
// that block out again. With SetDefault the handler is also the CRI's
// default_runtime_name, the node's runtime for pods that name no
// RuntimeClass; removal gives the line back as it was. ctr takes the shim
// with --runc-binary, and Kubernetes selects the handler with a
// RuntimeClass (see RuntimeClass).
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
	without, defaulted := restoreDefault(without)
	if opts.Remove {
		switch {
		case !found && !defaulted:
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
	version, err := checkContainerdBase(path, base, opts.shimName())
	if err != nil {
		return nil, err
	}
	var block bytes.Buffer
	if opts.SetDefault {
		if base, err = setDefault(base, version, opts.shimName()); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
		}
		if !bytes.Contains(base, []byte(defaultMarker)) {
			// No containerd table of the CRI's: the block has one.
			fmt.Fprintf(&block, "[%s]\n  default_runtime_name = %s\n", criTable(version), strconv.Quote(opts.shimName()))
		}
	}
	handler := criTable(version) + ".runtimes." + strconv.Quote(opts.shimName())
	fmt.Fprintf(&block, "[%s]\n  runtime_type = \"io.containerd.runc.v2\"\n", handler)
	fmt.Fprintf(&block, "[%s.options]\n  BinaryName = %s\n", handler, strconv.Quote(opts.shimPath()))
	out := append(append(append(bytes.Clone(base), begin...), block.Bytes()...), end...)
	if bytes.Equal(out, old) {
		return nil, nil
	}
	if err := checkContainerdResult(path, out, opts); err != nil {
		return nil, err
	}
	var backup string
	if old != nil {
		backup = path + ".capgen-backup"
	}
	return []Change{{Path: path, Old: old, New: out, Perm: 0o644, Backup: backup}}, nil
}

// containerdHeader begins a config.toml configure creates: version 2,
// which containerd 1.5 and later read, 2.x by migrating it in memory.
const containerdHeader = "version = 2\n"

// containerdConfig is what configure reads of a config.toml.
type containerdConfig struct {
	Version int `toml:"version"`
	Plugins map[string]struct {
		Containerd struct {
			DefaultRuntimeName string                       `toml:"default_runtime_name"`
			Runtimes           map[string]containerdHandler `toml:"runtimes"`
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
	return c.Plugins[criPlugin(c.Version)].Containerd.Runtimes[name]
}

func (c containerdConfig) defaultRuntime() string {
	return c.Plugins[criPlugin(c.Version)].Containerd.DefaultRuntimeName
}

// checkContainerdBase checks that configure can append the handler name to
// the config.toml data, a version 2, 3 or 4 config that defines no such
// handler of its own, and returns its version.
func checkContainerdBase(path string, data []byte, name string) (int, error) {
	var c containerdConfig
	if _, err := toml.Decode(string(data), &c); err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	switch {
	case c.Version < 2:
		return 0, fmt.Errorf("%w: %s is a version %d config; configure writes versions 2 to 4 (containerd config migrate)", ErrConfig, path, c.Version)
	case c.Version > 4:
		return 0, fmt.Errorf("%w: %s is a version %d config, newer than configure knows (2 to 4, containerd 1.5 to 2.4)", ErrConfig, path, c.Version)
	}
	if _, ok := c.Plugins[criPlugin(c.Version)].Containerd.Runtimes[name]; ok {
		return 0, fmt.Errorf("%w: %s already defines the runtime handler %s, not in capgen configure's block: edit it by hand", ErrConfig, path, name)
	}
	return c.Version, nil
}

// checkContainerdResult checks what configure would write: it parses, the
// handler runs the shim, and with SetDefault it is the default.
func checkContainerdResult(path string, out []byte, opts Options) error {
	var c containerdConfig
	if _, err := toml.Decode(string(out), &c); err != nil {
		return fmt.Errorf("%w: %s with the handler added does not parse: %w", ErrConfig, path, err)
	}
	if got := c.handler(opts.shimName()); got.Options.BinaryName != opts.shimPath() {
		return fmt.Errorf("%w: %s with the handler added names runc binary %q for %s", ErrConfig, path, got.Options.BinaryName, opts.shimName())
	}
	if opts.SetDefault && c.defaultRuntime() != opts.shimName() {
		return fmt.Errorf("%w: %s with the handler added has default_runtime_name %q", ErrConfig, path, c.defaultRuntime())
	}
	return nil
}

// defaultMarker ends the default_runtime_name line configure writes; what
// follows it is the line it replaced, quoted, or nothing when it added one.
const defaultMarker = " # capgen configure --set-default; it was: "

// defaultLine is a line configure wrote (see setDefault).
var defaultLine = regexp.MustCompile(`(?m)^.*` + regexp.QuoteMeta(defaultMarker) + `(.*)\n`)

// setDefault makes name the default_runtime_name of the CRI's containerd
// table in data, when data has that table: the line that sets it now
// becomes one naming name and carrying the old line, or one is added
// after the table's header.
func setDefault(data []byte, version int, name string) ([]byte, error) {
	header := regexp.MustCompile(`(?m)^[ \t]*\[[ \t]*plugins[ \t]*\.[ \t]*["']` + regexp.QuoteMeta(criPlugin(version)) +
		`["'][ \t]*\.[ \t]*containerd[ \t]*\][ \t]*(#.*)?\n`)
	found := header.FindAllIndex(data, -1)
	switch {
	case len(found) == 0:
		return data, nil
	case len(found) > 1:
		return nil, fmt.Errorf("the table [%s] is defined more than once", criTable(version))
	}
	loc := found[0]
	table := data[loc[1]:]
	if next := regexp.MustCompile(`(?m)^[ \t]*\[`).FindIndex(table); next != nil {
		table = table[:next[0]]
	}
	line := fmt.Sprintf("  default_runtime_name = %s%s", strconv.Quote(name), defaultMarker)
	if key := regexp.MustCompile(`(?m)^[ \t]*default_runtime_name[ \t]*=.*\n`).FindIndex(table); key != nil {
		start, stop := loc[1]+key[0], loc[1]+key[1]
		old := string(data[start : stop-1])
		return append(append(bytes.Clone(data[:start]), line+strconv.Quote(old)+"\n"...), data[stop:]...), nil
	}
	return append(append(bytes.Clone(data[:loc[1]]), line+"\n"...), data[loc[1]:]...), nil
}

// restoreDefault undoes setDefault: the line it wrote becomes the line it
// replaced, or goes. It reports whether there was one.
func restoreDefault(data []byte) ([]byte, bool) {
	m := defaultLine.FindSubmatchIndex(data)
	if m == nil {
		return data, false
	}
	var old string
	if m[3] > m[2] {
		unquoted, err := strconv.Unquote(string(data[m[2]:m[3]]))
		if err != nil {
			return data, false // not configure's: left alone
		}
		old = unquoted + "\n"
	}
	return append(append(bytes.Clone(data[:m[0]]), old...), data[m[1]:]...), true
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
