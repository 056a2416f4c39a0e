// Package containersconf names the containers.conf files that
// go.podman.io/common/pkg/config reads, and the drop-in directories whose
// contents decide which: for reading a setting as the files write it
// (plugin/engine's default_capabilities), and for knowing when what common
// loaded from them may have changed (the runtime shim's memo of
// engine.runtimes).
package containersconf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.podman.io/storage/pkg/unshare"
)

// The files go.podman.io/common/pkg/config reads, in its order: the
// system file, the administrator's file and drop-ins, for a rootless user
// the rootless files, the user's file and drop-ins (together replaced by
// CONTAINERS_CONF when that is set), the modules, and last
// CONTAINERS_CONF_OVERRIDE.
const (
	systemConf   = "/usr/share/containers/containers.conf"
	adminConf    = "/etc/containers/containers.conf"
	rootlessConf = "/etc/containers/containers.rootless.conf"
	userConf     = "containers/containers.conf" // under $XDG_CONFIG_HOME or ~/.config
	// ConfEnv names the one file read instead of the system, drop-in and
	// user files.
	ConfEnv = "CONTAINERS_CONF"
	// OverrideEnv names the file read last, after the modules.
	OverrideEnv = "CONTAINERS_CONF_OVERRIDE"
)

// Sources are where common reads containers.conf from, before modules.
type Sources struct {
	// Files are the files in common's order; a missing one is skipped.
	Files []string
	// DropInDirs are the directories whose *.conf files are among Files:
	// a file added or removed there changes their modification time.
	DropInDirs []string
}

// Find returns the sources common reads for this process's environment
// and user.
func Find() (Sources, error) {
	if path := os.Getenv(ConfEnv); path != "" {
		if _, err := os.Stat(path); err != nil {
			return Sources{}, fmt.Errorf("%s file: %w", ConfEnv, err)
		}
		return Sources{Files: []string{path}}, nil
	}
	var s Sources
	s.Files = []string{systemConf, adminConf}
	if err := s.addDropIns(adminConf + ".d"); err != nil {
		return Sources{}, err
	}
	if uid := unshare.GetRootlessUID(); uid > 0 {
		s.Files = append(s.Files, rootlessConf)
		if err := s.addDropIns(rootlessConf + ".d"); err != nil {
			return Sources{}, err
		}
		if err := s.addDropIns(filepath.Join(rootlessConf+".d", strconv.Itoa(uid))); err != nil {
			return Sources{}, err
		}
	}
	user, err := userConfPath()
	if err != nil {
		return Sources{}, err
	}
	s.Files = append(s.Files, user)
	if err := s.addDropIns(user + ".d"); err != nil {
		return Sources{}, err
	}
	return s, nil
}

// Inputs are the paths whose state decides what common loads, modules
// aside: s's files and drop-in directories, and the file
// CONTAINERS_CONF_OVERRIDE names, which common reads last.
func (s Sources) Inputs() []string {
	paths := append(append([]string{}, s.Files...), s.DropInDirs...)
	if o := os.Getenv(OverrideEnv); o != "" {
		paths = append(paths, o)
	}
	return paths
}

// userConfPath is the user's containers.conf, for root too.
func userConfPath() (string, error) {
	if dir := os.Getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, userConf), nil
	}
	home, err := unshare.HomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".config", userConf), nil
}

// addDropIns adds dir and its *.conf files, sorted by name; none when dir
// does not exist.
func (s *Sources) addDropIns(dir string) error {
	s.DropInDirs = append(s.DropInDirs, dir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".conf") {
			s.Files = append(s.Files, filepath.Join(dir, e.Name()))
		}
	}
	return nil
}
