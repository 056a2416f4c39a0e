package record

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/capgen-dev/capgen/plugin/ociruntime"
)

// The shim resolves the real runtime at create and records it, one small
// file per container, so that the container's later commands reach the
// same runtime however the engine runs them: Podman runs "start" and
// "delete" with no environment, so a runtime named through
// CONTAINERS_CONF or $PATH cannot be resolved again then, and a container
// whose delete cannot reach its runtime is stranded.
//
// The records of the containers of a runtime root R (--root R) live in the
// directory R.capgen beside it, which the runtime's user can write as it can
// R's parent; without --root, in a directory the caller chooses, by default
// [DefaultDir].

// DefaultDir is where the shim records the runtimes of containers
// created without --root: "shim-records" in the probe cache directory.
func DefaultDir() (string, error) {
	dir, err := ociruntime.DefaultCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "shim-records"), nil
}

// Dir is the directory of the records for cl's runtime root: beside
// --root, else fallback, else [DefaultDir]; "" when there is none.
func (cl CommandLine) Dir(fallback string) string {
	if cl.Root != "" {
		return filepath.Clean(cl.Root) + ".capgen"
	}
	if fallback != "" {
		return fallback
	}
	dir, err := DefaultDir()
	if err != nil {
		return ""
	}
	return dir
}

// ContainerID returns the container ID of a create, run or delete command
// line: its first positional argument, if it is a valid ID.
func (cl CommandLine) ContainerID() string {
	p := cl.Positionals()
	if len(p) == 0 || !ValidID(p[0]) {
		return ""
	}
	return p[0]
}

// Lookup returns the runtime recorded in dir for the first of cl's
// positional arguments that has a record: its container. create and run
// have none to look up: they resolve the runtime afresh.
func (cl CommandLine) Lookup(dir string) (string, bool) {
	r, ok := cl.LookupRecord(dir)
	return r.Runtime, ok
}

// LookupRecord is [CommandLine.Lookup] returning the whole record.
func (cl CommandLine) LookupRecord(dir string) (Record, bool) {
	if cl.Command == "create" || cl.Command == "run" {
		return Record{}, false
	}
	for _, id := range cl.Positionals() {
		if r, ok := Read(dir, id); ok {
			return r, true
		}
	}
	return Record{}, false
}

// ValidID reports whether id can name a record file: the characters runc
// allows in container IDs, and not "." or "..".
func ValidID(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > 1024 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_+-.", c)) {
			return false
		}
	}
	return true
}

// A Record is what the shim records for a container at its create: the
// real runtime, and the global options the engine ran it with, which the
// engine need not repeat for the container's later commands (conmon runs
// exec without Podman's --runtime-flag options).
type Record struct {
	Runtime string
	Globals []string
}

// Write records r for container id, atomically: the runtime's path on the
// first line, then each global option quoted as Go quotes strings.
func Write(dir, id string, r Record) error {
	if dir == "" {
		return fmt.Errorf("no directory for the record")
	}
	if !ValidID(id) {
		return fmt.Errorf("container ID %q cannot name a record", id)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data := []byte(r.Runtime + "\n")
	for _, g := range r.Globals {
		data = append(strconv.AppendQuote(data, g), '\n')
	}
	return WriteFileAtomic(filepath.Join(dir, id), data, 0o600)
}

// Read returns the record of container id, if there is one and the
// runtime it names is still an executable file.
func Read(dir, id string) (Record, bool) {
	if dir == "" || !ValidID(id) {
		return Record{}, false
	}
	data, err := os.ReadFile(filepath.Join(dir, id))
	if err != nil || len(data) > 64<<10 {
		return Record{}, false
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	r := Record{Runtime: lines[0]}
	if st, err := os.Stat(r.Runtime); err != nil || !filepath.IsAbs(r.Runtime) || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
		return Record{}, false
	}
	for _, line := range lines[1:] {
		g, err := strconv.Unquote(line)
		if err != nil {
			return Record{}, false
		}
		r.Globals = append(r.Globals, g)
	}
	return r, true
}

// Remove removes the record of container id, and the directory when it is
// left empty.
func Remove(dir, id string) {
	if dir == "" || !ValidID(id) {
		return
	}
	os.Remove(filepath.Join(dir, id))
	os.Remove(dir) // fails harmlessly while other records remain
}

// WriteFileAtomic replaces path with data: a temporary file in the same
// directory, renamed over it, so that a reader sees the old file or the
// new one.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-capgen-*")
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
