package ociruntime

// Where the probe cache lives: on tmpfs beside the storage run root, for
// root and for a rootless user, also seen from inside the user's namespace.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// rootCacheDir is the cache directory of root, next to the storage run root
// /run/containers/storage.
const rootCacheDir = "/run/containers/capgen"

// DefaultCacheDir returns the directory of the probe cache files: for root
// /run/containers/capgen, and for a rootless user
// $XDG_RUNTIME_DIR/containers/capgen, else /run/user/UID/containers/capgen
// when that directory is the user's (the run root go.podman.io/storage
// gives rootless users). Both are on tmpfs, so a reboot empties them.
//
// Inside a rootless engine's user namespace, where this process is uid 0,
// the user is the one outside: _CONTAINERS_ROOTLESS_UID when Podman sets
// it, else the uid that /proc/self/uid_map maps this process's uid from
// (a hook or a runtime started with no environment at all).
func DefaultCacheDir() (string, error) {
	return cacheDirFor(os.Getenv, os.Geteuid(), uidMap())
}

// uidMap is this process's /proc/self/uid_map, read once: the shim asks
// for the cache directory for its records, its log and its probe cache.
var uidMap = sync.OnceValue(func() []byte {
	b, _ := os.ReadFile("/proc/self/uid_map")
	return b
})

// cacheDirFor is DefaultCacheDir for the environment getenv, the effective
// uid euid and the contents of /proc/self/uid_map.
func cacheDirFor(getenv func(string) string, euid int, uidMap []byte) (string, error) {
	uid, err := outsideUID(getenv, euid, uidMap)
	if err != nil {
		return "", fmt.Errorf("probe cache directory: %w", err)
	}
	if uid == 0 {
		return rootCacheDir, nil
	}
	if dir := getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "containers", "capgen"), nil
	}
	// Seen from inside the user namespace, the user's directory belongs to
	// this process's own uid.
	dir := fmt.Sprintf("/run/user/%d", uid)
	if st, err := os.Stat(dir); err == nil && st.IsDir() && ownedBy(st, euid) {
		return filepath.Join(dir, "containers", "capgen"), nil
	}
	return "", fmt.Errorf("probe cache directory: XDG_RUNTIME_DIR is not set and %s is not uid %d's", dir, uid)
}

// outsideUID returns the uid that this process, of effective uid euid, has
// outside its user namespace.
func outsideUID(getenv func(string) string, euid int, uidMap []byte) (int, error) {
	if v := getenv("_CONTAINERS_ROOTLESS_UID"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("_CONTAINERS_ROOTLESS_UID=%q is not a uid", v)
		}
		return n, nil
	}
	for line := range strings.Lines(string(uidMap)) {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		inside, err1 := strconv.ParseUint(f[0], 10, 32)
		outside, err2 := strconv.ParseUint(f[1], 10, 32)
		count, err3 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if u := uint64(euid); u >= inside && u-inside < count {
			return int(outside + u - inside), nil
		}
	}
	return euid, nil // no map (not Linux, or /proc unreadable): no user namespace to see through
}
