package ociruntime

// A runtime is found as an engine finds it: by its path, or by a name looked
// up in the paths the engine configures for it, then in $PATH, passing over
// the runtime shim's own binaries.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Find resolves runtime, a path or a name (looked up in the paths lookup
// gives for it, then in $PATH), to the absolute path of an executable
// file. It passes over the files at except: a runtime shim's own binaries,
// which must never find themselves. The error wraps [ErrRuntimeNotFound]
// when nothing is found.
func Find(lookup func(string) []string, runtime string, except ...string) (string, error) {
	var self []binaryID
	for _, e := range except {
		id, err := statBinary(e)
		if err != nil {
			return "", fmt.Errorf("the excluded binary: %w", err)
		}
		self = append(self, id)
	}
	path, _, err := locate(lookup, runtime, self...)
	return path, err
}

// locate resolves runtime to the path of an executable file and stats it:
// one stat for a path, one per candidate for a name. It passes over the
// binaries whose identities are self (a runtime shim's own), as if they
// were not there.
func locate(lookup func(string) []string, runtime string, self ...binaryID) (string, binaryID, error) {
	if runtime == "" {
		return "", binaryID{}, fmt.Errorf("%w: empty runtime name", ErrRuntimeNotFound)
	}
	if strings.ContainsRune(runtime, '/') {
		path, err := filepath.Abs(runtime)
		if err != nil {
			return "", binaryID{}, fmt.Errorf("runtime %q: %w", runtime, err)
		}
		id, err := statBinary(path)
		if err != nil {
			return "", binaryID{}, fmt.Errorf("runtime %q: %w", runtime, err)
		}
		if id.oneOf(self) {
			return "", binaryID{}, fmt.Errorf("%w: %q is the shim itself", ErrRuntimeNotFound, runtime)
		}
		return path, id, nil
	}
	var candidates []string
	if lookup != nil {
		candidates = lookup(runtime)
	}
	for _, c := range candidates {
		if !filepath.IsAbs(c) {
			continue // a relative entry would depend on the working directory
		}
		if id, err := statBinary(c); err == nil && !id.oneOf(self) {
			return c, id, nil
		}
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if !filepath.IsAbs(dir) {
			continue // as exec.LookPath refuses a result relative to "."
		}
		path := filepath.Join(dir, runtime)
		if id, err := statBinary(path); err == nil && !id.oneOf(self) {
			return path, id, nil
		}
	}
	where := "the engine configures no path for it"
	if len(candidates) > 0 {
		where = "none of the paths the engine configures for it is an executable file (" + strings.Join(candidates, ", ") + ")"
	}
	return "", binaryID{}, fmt.Errorf("%w: %q: %s, and $PATH has no such executable", ErrRuntimeNotFound, runtime, where)
}

// oneOf reports whether id is one of the files others.
func (id binaryID) oneOf(others []binaryID) bool {
	for _, o := range others {
		if id.Dev == o.Dev && id.Ino == o.Ino {
			return true
		}
	}
	return false
}

// statBinary returns the identity of the executable file at path, following
// symbolic links.
func statBinary(path string) (binaryID, error) {
	st, err := os.Stat(path)
	if err != nil {
		return binaryID{}, fmt.Errorf("%w: %w", ErrRuntimeNotFound, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return binaryID{}, fmt.Errorf("%w: %s is not an executable file", ErrRuntimeNotFound, path)
	}
	return identity(st), nil
}
