// Package confmemo keeps the runtime shim's memo of containers.conf's
// engine.runtimes table: what go.podman.io/common loaded from the files,
// with the identity of every file and drop-in directory it was loaded
// from. capgen writes it after loading containers.conf; the light entry
// point cmd/capshim, which links nothing of common, reads it and resolves
// runtime names with it as long as every one of those files, directories
// and the binary that wrote it is the same file in the same state (device,
// inode, size, modification and change times: ctime cannot be set back),
// and the environment that chose the files is the same. Anything else is
// a miss, and capgen loads containers.conf again.
package confmemo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FileName is the memo's file in the shim's cache directory.
const FileName = "containers-conf-runtimes-v1.memo"

// header begins a memo file; the format version is also in FileName.
const header = "capgen containers.conf runtimes memo 1"

// Env are the environment variables that choose which containers.conf
// files go.podman.io/common reads (with the effective uid).
var Env = []string{"CONTAINERS_CONF", "CONTAINERS_CONF_OVERRIDE", "XDG_CONFIG_HOME", "HOME", "_CONTAINERS_ROOTLESS_UID"}

// settle is how long a file must have been unchanged to be memoised: a
// file written again within the file system's timestamp granularity of
// its read could keep its identity with other contents.
const settle = time.Second

// maxSize bounds the memo file a reader accepts.
const maxSize = 64 << 10

// ErrUnsettled is returned by [Snapshot.Write] when an input changed too
// recently to be memoised.
var ErrUnsettled = errors.New("a containers.conf source changed in the last second")

// Snapshot is the state of the inputs of a containers.conf load, taken
// before the load.
type Snapshot struct {
	writer string // the identity of the binary that loads
	env    string
	inputs []input
	newest time.Time // the latest change among the inputs
}

// input is a path and the identity of the file there; "-" when none.
type input struct {
	path, id string
}

// Take records the identities of writer (the executable that will load
// containers.conf and write the memo) and of paths (the files and drop-in
// directories common reads), and the environment.
func Take(writer string, paths []string) (Snapshot, error) {
	wid, _, err := identity(writer)
	if err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{writer: wid, env: environment()}
	for _, p := range paths {
		id, changed, err := identity(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return Snapshot{}, err
		}
		s.inputs = append(s.inputs, input{path: p, id: id})
		if changed.After(s.newest) {
			s.newest = changed
		}
	}
	return s, nil
}

// Write writes the memo of runtimes, the engine.runtimes table loaded
// after s was taken, to dir, atomically. It writes nothing, and returns
// [ErrUnsettled], when an input changed less than a second ago.
func (s Snapshot) Write(dir string, runtimes map[string][]string) error {
	if time.Since(s.newest) < settle {
		return ErrUnsettled
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nwriter %s\nenv %s\n", header, s.writer, strconv.Quote(s.env))
	for _, in := range s.inputs {
		fmt.Fprintf(&b, "input %s %s\n", strconv.Quote(in.path), in.id)
	}
	for name, paths := range runtimes {
		b.WriteString("runtime " + strconv.Quote(name))
		for _, p := range paths {
			b.WriteString(" " + strconv.Quote(p))
		}
		b.WriteByte('\n')
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".memo-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, FileName))
}

// Load returns the engine.runtimes table memoised in dir if the memo was
// written by writer as it is now, for this environment, and every input
// is unchanged; ok is false otherwise.
func Load(dir, writer string) (runtimes map[string][]string, ok bool) {
	data, err := readFile(filepath.Join(dir, FileName))
	if err != nil {
		return nil, false
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 3 || lines[0] != header || lines[len(lines)-1] != "" {
		return nil, false
	}
	wid, _, err := identity(writer)
	if err != nil || lines[1] != "writer "+wid || lines[2] != "env "+strconv.Quote(environment()) {
		return nil, false
	}
	runtimes = map[string][]string{}
	for _, line := range lines[3 : len(lines)-1] {
		kind, rest, _ := strings.Cut(line, " ")
		fields, err := quotedFields(rest)
		switch {
		case err != nil || len(fields) == 0:
			return nil, false
		case kind == "input":
			if len(fields) != 1 {
				return nil, false
			}
			// The identity follows the quoted path.
			id, _, err := identity(fields[0])
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, false
			}
			if rest != strconv.Quote(fields[0])+" "+id {
				return nil, false
			}
		case kind == "runtime":
			runtimes[fields[0]] = fields[1:]
		default:
			return nil, false
		}
	}
	return runtimes, true
}

// quotedFields splits s into its leading Go-quoted strings; what follows
// the last of them, if anything, is not returned (an input's identity).
func quotedFields(s string) ([]string, error) {
	var out []string
	for s != "" && s[0] == '"' {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return nil, err
		}
		v, err := strconv.Unquote(q)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		s = strings.TrimPrefix(s[len(q):], " ")
	}
	return out, nil
}

// identity returns the identity of the file at path (symbolic links
// followed), "-" when there is none, and when it last changed.
func identity(path string) (string, time.Time, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "-", time.Time{}, err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "", time.Time{}, fmt.Errorf("%s: no file status", path)
	}
	changed := time.Unix(0, sys.Ctim.Nano())
	if m := time.Unix(0, sys.Mtim.Nano()); m.After(changed) {
		changed = m
	}
	return fmt.Sprintf("%d:%d:%d:%d:%d", uint64(sys.Dev), sys.Ino, sys.Size, sys.Mtim.Nano(), sys.Ctim.Nano()), changed, nil
}

// environment is what chooses the files: the variables of Env and the
// effective uid.
func environment() string {
	var b strings.Builder
	for _, k := range Env {
		v, ok := os.LookupEnv(k)
		if ok {
			b.WriteString(k + "=" + v)
		}
		b.WriteByte(0)
	}
	b.WriteString(strconv.Itoa(os.Geteuid()))
	return b.String()
}

// readFile reads the memo without following a symbolic link or blocking
// on a FIFO put in its place.
func readFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// It names the binary the shim runs: only a file of this user's that
	// no one else can write is taken.
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || !st.Mode().IsRegular() || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("%s: not a regular file of uid %d that only it can write", path, os.Geteuid())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxSize)
	}
	return data, nil
}
