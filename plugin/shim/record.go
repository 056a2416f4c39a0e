package shim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
// R's parent; without --root, in opts.RecordDir.

// DefaultRecordDir is where the shim records the runtimes of containers
// created without --root: "shim-records" in the probe cache directory.
func DefaultRecordDir() (string, error) { return inCacheDir("shim-records") }

// recordDir is the directory of the records for cl's runtime root.
func (opts Options) recordDir(cl commandLine) string {
	if cl.root != "" {
		return filepath.Clean(cl.root) + ".capgen"
	}
	if opts.RecordDir != "" {
		return opts.RecordDir
	}
	dir, err := DefaultRecordDir()
	if err != nil {
		return ""
	}
	return dir
}

// containerID returns the container ID of a create, run or delete command
// line: its first positional argument, if it is a valid ID.
func containerID(cl commandLine) string {
	p := positionals(cl.command, cl.rest)
	if len(p) == 0 || !validID(p[0]) {
		return ""
	}
	return p[0]
}

// validID reports whether id can name a record file: the characters runc
// allows in container IDs, and not "." or "..".
func validID(id string) bool {
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

// writeRecord records real as the runtime of container id.
func writeRecord(dir, id, real string) error {
	if dir == "" {
		return fmt.Errorf("no directory for the record")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, id), []byte(real+"\n"), 0o600)
}

// readRecord returns the runtime recorded for container id, if there is a
// record and the runtime it names is still an executable file.
func readRecord(dir, id string) (string, bool) {
	if dir == "" || !validID(id) {
		return "", false
	}
	data, err := os.ReadFile(filepath.Join(dir, id))
	if err != nil || len(data) > 4096 {
		return "", false
	}
	real := strings.TrimSuffix(string(data), "\n")
	if st, err := os.Stat(real); err != nil || !filepath.IsAbs(real) || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
		return "", false
	}
	return real, true
}

// removeRecord removes the record of container id, and the directory when
// it is left empty.
func removeRecord(dir, id string) {
	if dir == "" || !validID(id) {
		return
	}
	os.Remove(filepath.Join(dir, id))
	os.Remove(dir) // fails harmlessly while other records remain
}
