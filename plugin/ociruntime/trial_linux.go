package ociruntime

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	"golang.org/x/sys/unix"
)

// trialScope returns the capabilities a trial run by this process can
// observe: the kernel's, less those outside this process's bounding set
// (no runtime it starts can apply them). A trial needs CAP_SYS_ADMIN,
// which creating a container takes: root, or root of a user namespace.
func trialScope() (capnames.Set, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("%w: capget: %w", errTrialUnavailable, err)
	}
	if data[0].Effective&(1<<unix.CAP_SYS_ADMIN) == 0 {
		return 0, fmt.Errorf("%w, which this process (uid %d) does not have", errTrialUnprivileged, os.Geteuid())
	}
	last, err := capnames.KernelLast()
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errTrialUnavailable, err)
	}
	bounding, err := capnames.Bounding()
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errTrialUnavailable, err)
	}
	return capnames.UpTo(last).Intersect(bounding), nil
}

// processSets reads the bounding, effective and permitted sets of process
// pid from /proc/PID/status.
func processSets(pid int) (plugin.Sets, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	data, err := os.ReadFile(path)
	if err != nil {
		return plugin.Sets{}, err
	}
	return parseSets(data, path)
}

// inRoot reports whether process pid lives in the directory root: its
// root is that directory, as a container's init is once the runtime has
// set it up (runc, crun), and a sandbox's (runsc) is not.
func inRoot(pid int, root string) bool {
	proc, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/root")
	if err != nil {
		return false
	}
	dir, err := os.Stat(root)
	return err == nil && os.SameFile(proc, dir)
}

// removeCgroups removes the cgroup of the trial container id that the
// runtime left behind, empty, where it makes one for a spec without
// linux.cgroupsPath: /ID under the root of each cgroup hierarchy mounted
// here (runsc 20221219 leaves one per container on cgroup v1, also after
// delete --force). rmdir removes only an empty cgroup, so a failure (none
// there, still in use, not ours to remove) leaves everything as it was.
func removeCgroups(id string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for line := range strings.Lines(string(data)) {
		// mount ID, parent ID, major:minor, root, mount point, options,
		// optional fields, "-", file system type, source, super options.
		fields := strings.Fields(line)
		sep := slices.Index(fields, "-")
		if sep < 5 || sep+1 >= len(fields) || fields[3] != "/" {
			continue
		}
		if fs := fields[sep+1]; fs == "cgroup" || fs == "cgroup2" {
			unix.Rmdir(filepath.Join(unescapeMountinfo(fields[4]), id))
		}
	}
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of a
// path in /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
