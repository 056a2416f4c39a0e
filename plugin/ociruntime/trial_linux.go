package ociruntime

import (
	"fmt"
	"os"
	"strconv"

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
