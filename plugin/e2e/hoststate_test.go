package e2e

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// What daemons of the tests change on the host beyond their own
// directories, recorded before they run and put back after: sysctls, mount
// points, the cgroups engines make at the top of each hierarchy (runsc,
// CRI-O, Docker, Podman's libpod_parent, the kubelet's kubepods) and
// directories at fixed paths (the kubelet's /var/lib/kubelet).

// hostState is a record of the host.
type hostState struct {
	sysctls map[string][]byte // writable files under /proc/sys/{kernel,vm,fs}
	mounts  map[string]bool   // mount points
	cgroups map[string]bool   // the directories at the top of each cgroup hierarchy
	paths   map[string]bool   // the given paths that exist
}

// sysctlsAlwaysChanging are the writable sysctls whose values move on
// their own.
var sysctlsAlwaysChanging = []string{"/proc/sys/kernel/ns_last_pid"}

// recordHost records the host, and whether each of paths exists.
func recordHost(paths ...string) hostState {
	s := hostState{sysctls: sysctls(), mounts: mountPoints(), cgroups: map[string]bool{}, paths: map[string]bool{}}
	for _, root := range cgroupRoots() {
		for name := range dirEntries(root) {
			if st, err := os.Stat(filepath.Join(root, name)); err == nil && st.IsDir() {
				s.cgroups[filepath.Join(root, name)] = true
			}
		}
	}
	for _, p := range paths {
		_, err := os.Lstat(p)
		s.paths[p] = err == nil
	}
	return s
}

// hostChanges is how the host differs from a record: sysctls changed
// (their recorded values), and the mount points, top-level cgroups and
// given paths that are new.
type hostChanges struct {
	sysctls                map[string][2][]byte // path: recorded value, value now
	mounts, cgroups, paths []string
}

// changes compares the host now with s.
func (s hostState) changes() hostChanges {
	now := recordHost(slices.Collect(maps.Keys(s.paths))...)
	c := hostChanges{sysctls: map[string][2][]byte{}}
	for path, was := range s.sysctls {
		if v, ok := now.sysctls[path]; ok && !bytes.Equal(v, was) {
			c.sysctls[path] = [2][]byte{was, v}
		}
	}
	for m := range now.mounts {
		if !s.mounts[m] {
			c.mounts = append(c.mounts, m)
		}
	}
	for cg := range now.cgroups {
		if !s.cgroups[cg] {
			c.cgroups = append(c.cgroups, cg)
		}
	}
	for p, existed := range s.paths {
		if now.paths[p] && !existed {
			c.paths = append(c.paths, p)
		}
	}
	return c
}

// restore puts back what changed since s was recorded: sysctls, mounts
// (unmounted, deepest first), cgroups at the top of a hierarchy (removed
// with what they hold, deepest first: only empty ones go), and the given
// paths that did not exist. It returns what it could not put back.
func (s hostState) restore() []string {
	c := s.changes()
	var failed []string
	for path, v := range c.sysctls {
		if err := os.WriteFile(path, v[0], 0); err != nil {
			failed = append(failed, "sysctl "+path+": "+err.Error())
		}
	}
	failed = append(failed, unmountDeepestFirst(c.mounts)...)
	for _, cg := range c.cgroups {
		if err := removeCgroupTree(cg); err != nil {
			failed = append(failed, "cgroup "+cg+": "+err.Error())
		}
	}
	for _, p := range c.paths {
		if err := os.RemoveAll(p); err != nil {
			failed = append(failed, err.Error())
		}
	}
	return failed
}

// diff describes how the host now differs from s: each sysctl as
// "path: before -> now", and the mounts, cgroups and paths that are new.
func (s hostState) diff() []string {
	c := s.changes()
	var out []string
	for path, v := range c.sysctls {
		out = append(out, "sysctl "+path+": "+strings.TrimSpace(string(v[0]))+" -> "+strings.TrimSpace(string(v[1])))
	}
	for _, m := range c.mounts {
		out = append(out, "mount "+m)
	}
	for _, cg := range c.cgroups {
		out = append(out, "cgroup "+cg)
	}
	for _, p := range c.paths {
		out = append(out, "path "+p)
	}
	slices.Sort(out)
	return out
}

// unmountDeepestFirst unmounts mounts (lazily), those below others first,
// and returns what it could not unmount.
func unmountDeepestFirst(mounts []string) []string {
	mounts = slices.Clone(mounts)
	slices.SortFunc(mounts, func(a, b string) int { return len(b) - len(a) })
	var failed []string
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			failed = append(failed, "unmount "+m+": "+err.Error())
		}
	}
	return failed
}

// sysctlValues returns the values of the named sysctls (kernel.panic) now.
func sysctlValues(names ...string) []string {
	var out []string
	for _, n := range names {
		v, err := os.ReadFile(filepath.Join("/proc/sys", strings.ReplaceAll(n, ".", "/")))
		if err != nil {
			out = append(out, n+" = ("+err.Error()+")")
			continue
		}
		out = append(out, n+" = "+strings.TrimSpace(string(v)))
	}
	return out
}

// sysctls reads the writable sysctls of the kernel, vm and fs trees.
func sysctls() map[string][]byte {
	values := map[string][]byte{}
	for _, tree := range []string{"/proc/sys/kernel", "/proc/sys/vm", "/proc/sys/fs"} {
		filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || slices.Contains(sysctlsAlwaysChanging, path) {
				return nil
			}
			info, err := d.Info()
			if err != nil || info.Mode().Perm()&0o200 == 0 || info.Mode().Perm()&0o444 == 0 {
				return nil
			}
			if v, err := os.ReadFile(path); err == nil {
				values[path] = v
			}
			return nil
		})
	}
	return values
}

// mountPoints returns this process's mount points.
func mountPoints() map[string]bool {
	points := map[string]bool{}
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) > 4 {
			points[unescapeOctal(f[4])] = true
		}
	}
	return points
}

// cgroupRoots returns the mount points of the cgroup hierarchies.
func cgroupRoots() []string {
	var roots []string
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if sep > 4 && sep+1 < len(f) && (f[sep+1] == "cgroup" || f[sep+1] == "cgroup2") && f[3] == "/" {
			roots = append(roots, unescapeOctal(f[4]))
		}
	}
	return roots
}

// removeCgroupTree removes the cgroup dir and those under it, deepest
// first; a cgroup that still holds a process stays, and is an error.
func removeCgroupTree(dir string) error {
	var dirs []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	var last error
	for _, d := range slices.Backward(dirs) {
		if err := unix.Rmdir(d); err != nil && err != unix.ENOENT {
			last = &fs.PathError{Op: "rmdir", Path: d, Err: err}
		}
	}
	return last
}

// unescapeOctal undoes mountinfo's octal escapes (\040 for a space).
func unescapeOctal(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}
