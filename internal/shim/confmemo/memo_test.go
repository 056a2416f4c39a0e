package confmemo

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// fixture is a writer binary, a containers.conf file, a drop-in directory
// with one file, and a user file that does not exist: what a memo is
// taken over.
type fixture struct {
	dir, writer, conf, dropIns, dropIn, absent string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{dir: dir, writer: filepath.Join(dir, "capgen"), conf: filepath.Join(dir, "containers.conf"),
		dropIns: filepath.Join(dir, "containers.conf.d"), absent: filepath.Join(dir, "user.conf")}
	f.dropIn = filepath.Join(f.dropIns, "10-a.conf")
	for path, data := range map[string]string{f.writer: "binary", f.conf: "[engine]\n", f.dropIn: "[engine.runtimes]\n"} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f fixture) paths() []string { return []string{f.conf, f.dropIns, f.dropIn, f.absent} }

// settled waits until files just written are old enough to be memoised.
func settled() { time.Sleep(settle + 50*time.Millisecond) }

var table = map[string][]string{"runc": {"/usr/sbin/runc", "/usr/bin/runc"}, "odd \"name\"\n": {"/a b"}, "none": {}}

// TestMemo: a memo is valid while its writer, environment and inputs are
// as they were when it was taken, and a miss after any change to them:
// the file edited, a drop-in added, a missing file created, the writer
// replaced, an environment variable set.
func TestMemo(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, f fixture)
		valid  bool
	}{
		{"unchanged", func(*testing.T, fixture) {}, true},
		{"file edited, same size", func(t *testing.T, f fixture) { write(t, f.conf, "[ENGINE]\n") }, false},
		{"drop-in added", func(t *testing.T, f fixture) { write(t, filepath.Join(f.dropIns, "20-b.conf"), "") }, false},
		{"drop-in removed", func(t *testing.T, f fixture) { remove(t, f.dropIn) }, false},
		{"missing file created", func(t *testing.T, f fixture) { write(t, f.absent, "") }, false},
		{"writer replaced", func(t *testing.T, f fixture) {
			write(t, f.writer+".new", "binary")
			rename(t, f.writer+".new", f.writer)
		}, false},
		{"writer touched", func(t *testing.T, f fixture) { touch(t, f.writer) }, false},
		{"CONTAINERS_CONF set", func(t *testing.T, f fixture) { t.Setenv("CONTAINERS_CONF", f.conf) }, false},
		{"memo written by another user's rights", func(t *testing.T, f fixture) {
			if err := os.Chmod(filepath.Join(f.dir, "cache", FileName), 0o666); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	fixtures := make([]fixture, len(cases))
	for i := range cases {
		fixtures[i] = newFixture(t)
	}
	settled() // once for all
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := fixtures[i]
			snap, err := Take(f.writer, f.paths())
			if err != nil {
				t.Fatal(err)
			}
			cache := filepath.Join(f.dir, "cache")
			if err := snap.Write(cache, table); err != nil {
				t.Fatal(err)
			}
			if got, ok := Load(cache, f.writer); !ok || !maps.EqualFunc(got, table, slices.Equal) {
				t.Fatalf("Load right after Write = %q, %v; want %q, true", got, ok, table)
			}
			tc.change(t, f)
			if got, ok := Load(cache, f.writer); ok != tc.valid {
				t.Errorf("Load after the change = %q, %v; want valid %v", got, ok, tc.valid)
			}
		})
	}
}

// TestMemoUnsettled: an input changed within the last second is not
// memoised, since a later write in the same timestamp could keep its
// identity.
func TestMemoUnsettled(t *testing.T) {
	f := newFixture(t)
	snap, err := Take(f.writer, f.paths())
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(f.dir, "cache")
	if err := snap.Write(cache, table); !errors.Is(err, ErrUnsettled) {
		t.Errorf("Write of fresh inputs: %v, want ErrUnsettled", err)
	}
	if _, err := os.Stat(filepath.Join(cache, FileName)); !os.IsNotExist(err) {
		t.Errorf("a memo was written: %v", err)
	}
}

// TestLoadRefuses: a memo that is not one (another format, torn, a link
// to a valid memo, too large) is a miss.
func TestLoadRefuses(t *testing.T) {
	f := newFixture(t)
	settled()
	snap, err := Take(f.writer, f.paths())
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(f.dir, "good")
	if err := snap.Write(good, table); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(good, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"other header": "capgen containers.conf runtimes memo 2" + string(data[len(header):]),
		"torn":         string(data[:len(data)-3]),
		"bad line":     string(data) + "what \"x\"\n",
		"bad quoting":  string(data) + "runtime \"x\n",
		"too large":    string(data) + string(make([]byte, maxSize)),
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			write(t, filepath.Join(dir, FileName), content)
			if err := os.Chmod(filepath.Join(dir, FileName), 0o600); err != nil {
				t.Fatal(err)
			}
			if got, ok := Load(dir, f.writer); ok {
				t.Errorf("Load = %q, true; want a miss", got)
			}
		})
	}
	t.Run("symbolic link", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Symlink(filepath.Join(good, FileName), filepath.Join(dir, FileName)); err != nil {
			t.Fatal(err)
		}
		if got, ok := Load(dir, f.writer); ok {
			t.Errorf("Load through a link = %q, true; want a miss", got)
		}
	})
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	now := time.Now()
	if err := os.Chtimes(path, now, now); err != nil {
		t.Fatal(err)
	}
}
