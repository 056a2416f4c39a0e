package configure

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// planDocker is the shim for Docker: capgen-NAME in the runtimes of
// daemon.json, and with SetDefault as its default-runtime. Every other key
// is kept; the file is re-indented. Removal gives back the original bytes
// from the backup while the file is still what configure made of it, and
// otherwise takes out only configure's entries.
func planDocker(opts Options) ([]Change, error) {
	path := opts.Config
	if path == "" {
		path = DefaultDaemonJSON
	}
	old, err := readFile(path)
	if err != nil {
		return nil, err
	}
	backup := path + ".capgen-backup"
	if opts.Remove {
		return removeDocker(opts, path, old, backup)
	}
	out, err := dockerWith(opts, path, old)
	if err != nil || bytes.Equal(out, old) {
		return nil, err
	}
	return []Change{{Path: path, Old: old, New: out, Perm: 0o644, Backup: backup}}, nil
}

// dockerWith returns daemon.json data with opts' entries set: data itself
// when they are there already.
func dockerWith(opts Options, path string, data []byte) ([]byte, error) {
	top, runtimes, err := decodeDaemonJSON(path, data)
	if err != nil {
		return nil, err
	}
	want, _ := json.Marshal(map[string]string{"path": opts.shimPath()})
	changed := !jsonEqual(runtimes[opts.shimName()], want)
	runtimes[opts.shimName()] = want
	if opts.SetDefault {
		name, _ := json.Marshal(opts.shimName())
		changed = changed || !jsonEqual(top["default-runtime"], name)
		top["default-runtime"] = name
	}
	if !changed {
		return data, nil
	}
	return encodeDaemonJSON(top, runtimes)
}

func removeDocker(opts Options, path string, current []byte, backup string) ([]Change, error) {
	if current == nil {
		return nil, nil
	}
	original, err := readFile(backup)
	if err != nil {
		return nil, err
	}
	if original != nil {
		for _, setDefault := range []bool{false, true} {
			o := opts
			o.SetDefault = setDefault
			if made, err := dockerWith(o, path, original); err == nil && bytes.Equal(made, current) {
				return []Change{{Path: path, Old: current, New: original}, {Path: backup, Old: original}}, nil
			}
		}
	}
	top, runtimes, err := decodeDaemonJSON(path, current)
	if err != nil {
		return nil, err
	}
	want, _ := json.Marshal(map[string]string{"path": opts.shimPath()})
	name, _ := json.Marshal(opts.shimName())
	ours, isDefault := jsonEqual(runtimes[opts.shimName()], want), jsonEqual(top["default-runtime"], name)
	if !ours && !isDefault {
		return nil, nil
	}
	if ours {
		delete(runtimes, opts.shimName())
	}
	if isDefault {
		delete(top, "default-runtime")
	}
	if len(runtimes) == 0 {
		delete(top, "runtimes")
	}
	if len(top) == 0 && original == nil {
		return []Change{{Path: path, Old: current}}, nil // configure created it
	}
	out, err := encodeDaemonJSON(top, runtimes)
	if err != nil {
		return nil, err
	}
	return []Change{{Path: path, Old: current, New: out, Backup: backup}}, nil
}

// decodeDaemonJSON decodes daemon.json (absent or empty: no keys) into its
// members and the members of its runtimes.
func decodeDaemonJSON(path string, data []byte) (top, runtimes map[string]json.RawMessage, err error) {
	top = map[string]json.RawMessage{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &top); err != nil || top == nil {
			return nil, nil, fmt.Errorf("%w: %s is not a JSON object: %w", ErrConfig, path, err)
		}
	}
	runtimes = map[string]json.RawMessage{}
	if raw, ok := top["runtimes"]; ok {
		if err := json.Unmarshal(raw, &runtimes); err != nil || runtimes == nil {
			return nil, nil, fmt.Errorf("%w: %s: runtimes is not a JSON object: %w", ErrConfig, path, err)
		}
	}
	return top, runtimes, nil
}

func encodeDaemonJSON(top, runtimes map[string]json.RawMessage) ([]byte, error) {
	if len(runtimes) > 0 {
		raw, err := json.Marshal(runtimes)
		if err != nil {
			return nil, err
		}
		top["runtimes"] = raw
	} else {
		delete(top, "runtimes")
	}
	out, err := json.MarshalIndent(top, "", "    ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// jsonEqual reports whether a and b are the same JSON value, up to spacing
// and the order of object members.
func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys)
}
