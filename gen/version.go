package gen

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalidVersion is wrapped by every error about a kernel version: a
// version.h or Makefile without one, or a malformed version string.
var ErrInvalidVersion = errors.New("invalid kernel version")

// Kernel versions read from version.h or a Makefile are always written as
// MAJOR.PATCHLEVEL.SUBLEVEL ("6.1.187", "5.8.0"); EXTRAVERSION ("-rc5") is
// left out.

// VersionFromVersionH returns the kernel version a linux/version.h
// defines. LINUX_VERSION_MAJOR, LINUX_VERSION_PATCHLEVEL and
// LINUX_VERSION_SUBLEVEL (Linux 5.10 and later) are preferred because
// LINUX_VERSION_CODE caps the sublevel at 255; when both are present they
// must agree. An older version.h has only LINUX_VERSION_CODE: 393659 is
// "6.1.187".
func VersionFromVersionH(src []byte) (string, error) {
	dirs, serr := directives(src)
	if serr != nil {
		return "", fmt.Errorf("%w: line %d: %s", ErrInvalidVersion, serr.line, serr.msg)
	}
	names := []string{"LINUX_VERSION_CODE", "LINUX_VERSION_MAJOR", "LINUX_VERSION_PATCHLEVEL", "LINUX_VERSION_SUBLEVEL"}
	vals := make(map[string]int)
	for _, d := range dirs {
		f := strings.Fields(d.text)
		if len(f) < 2 || f[0] != "define" || !slices.Contains(names, f[1]) {
			continue
		}
		if len(f) != 3 {
			return "", fmt.Errorf("%w: line %d: %s is not a decimal number", ErrInvalidVersion, d.line, f[1])
		}
		parse := versionComponent
		if f[1] == names[0] {
			parse = versionNumber // a code, not one number of a dotted version
		}
		v, err := parse(f[2])
		if err != nil {
			return "", fmt.Errorf("%w: line %d: %s: %w", ErrInvalidVersion, d.line, f[1], err)
		}
		if prev, ok := vals[f[1]]; ok && prev != v {
			return "", fmt.Errorf("%w: line %d: %s is defined twice, as %d and %d", ErrInvalidVersion, d.line, f[1], prev, v)
		}
		vals[f[1]] = v
	}
	code, hasCode := vals[names[0]]
	major, hasMajor := vals[names[1]]
	patch, hasPatch := vals[names[2]]
	sub, hasSub := vals[names[3]]
	switch {
	case hasMajor && hasPatch && hasSub:
		if major > 255 || patch > 255 {
			return "", fmt.Errorf("%w: %d.%d.%d: major and patchlevel must be at most 255", ErrInvalidVersion, major, patch, sub)
		}
		if hasCode && code != major<<16+patch<<8+min(sub, 255) {
			return "", fmt.Errorf("%w: LINUX_VERSION_CODE %d (%s) disagrees with LINUX_VERSION_MAJOR/PATCHLEVEL/SUBLEVEL %d.%d.%d",
				ErrInvalidVersion, code, decodeVersionCode(code), major, patch, sub)
		}
		return fmt.Sprintf("%d.%d.%d", major, patch, sub), nil
	case hasMajor || hasPatch || hasSub:
		return "", fmt.Errorf("%w: LINUX_VERSION_MAJOR, LINUX_VERSION_PATCHLEVEL and LINUX_VERSION_SUBLEVEL must be defined together", ErrInvalidVersion)
	case hasCode:
		if code < 1<<16 || code >= 1<<24 {
			return "", fmt.Errorf("%w: LINUX_VERSION_CODE %d is not a version code", ErrInvalidVersion, code)
		}
		return decodeVersionCode(code), nil
	}
	return "", fmt.Errorf("%w: no LINUX_VERSION_CODE or LINUX_VERSION_MAJOR/PATCHLEVEL/SUBLEVEL", ErrInvalidVersion)
}

// decodeVersionCode undoes the kernel's KERNEL_VERSION(a, b, c), which is
// (a << 16) + (b << 8) + c.
func decodeVersionCode(code int) string {
	return fmt.Sprintf("%d.%d.%d", code>>16, code>>8&0xff, code&0xff)
}

// VersionFromMakefile returns the kernel version a kernel tree's top
// Makefile sets with VERSION, PATCHLEVEL and SUBLEVEL (an empty SUBLEVEL is
// 0). A Makefile with merge-conflict markers is an error.
func VersionFromMakefile(src []byte) (string, error) {
	names := []string{"VERSION", "PATCHLEVEL", "SUBLEVEL"}
	vals := make(map[string]int)
	for n, line := range bytes.Split(src, []byte("\n")) {
		if isConflictMarker(line) {
			return "", fmt.Errorf("%w: line %d: merge conflict marker %s", ErrInvalidVersion, n+1, quote(string(line)))
		}
		name, value, ok := strings.Cut(string(line), "=")
		name = strings.TrimRight(name, " \t")
		if !ok || !slices.Contains(names, name) {
			continue // recipes start with a tab, so they never match
		}
		value, _, _ = strings.Cut(value, "#")
		value = strings.TrimSpace(value)
		if value == "" && name == "SUBLEVEL" {
			value = "0"
		}
		v, err := versionComponent(value)
		if err != nil {
			return "", fmt.Errorf("%w: line %d: %s: %w", ErrInvalidVersion, n+1, name, err)
		}
		if prev, ok := vals[name]; ok && prev != v {
			return "", fmt.Errorf("%w: line %d: %s is set twice, to %d and %d", ErrInvalidVersion, n+1, name, prev, v)
		}
		vals[name] = v
	}
	for _, name := range names[:2] {
		if _, ok := vals[name]; !ok {
			return "", fmt.Errorf("%w: no %s = <number> in Makefile", ErrInvalidVersion, name)
		}
	}
	return fmt.Sprintf("%d.%d.%d", vals["VERSION"], vals["PATCHLEVEL"], vals["SUBLEVEL"]), nil
}

// KernelTreeHeader returns the capability header of the kernel source tree
// dir, include/uapi/linux/capability.h (Linux 3.7 and later) or else
// include/linux/capability.h, and the kernel version its top Makefile sets.
func KernelTreeHeader(dir string) (path, version string, err error) {
	for _, rel := range []string{"include/uapi/linux/capability.h", "include/linux/capability.h"} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().IsRegular() {
			path = p
			break
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", "", err
		}
	}
	if path == "" {
		return "", "", fmt.Errorf("%s: not a kernel tree: no include/uapi/linux/capability.h or include/linux/capability.h: %w", dir, fs.ErrNotExist)
	}
	makefile := filepath.Join(dir, "Makefile")
	src, err := readLimited(makefile)
	if err != nil {
		return "", "", err
	}
	version, err = VersionFromMakefile(src)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", makefile, err)
	}
	return path, version, nil
}

// checkVersion checks a version given by hand, such as "6.1" or "2.6.18.8":
// two to four decimal numbers separated by dots.
func checkVersion(v string) error {
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return fmt.Errorf("%w: %s: want 2 to 4 numbers separated by dots, such as 6.1 or 6.1.187", ErrInvalidVersion, quote(v))
	}
	for _, p := range parts {
		if _, err := versionComponent(p); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidVersion, quote(v), err)
		}
	}
	return nil
}

// versionNumber parses one component of a version: decimal digits, no
// sign, no leading zero, at most 8 digits.
func versionNumber(s string) (int, error) {
	switch {
	case !isDecimal(s):
		return 0, fmt.Errorf("%s is not a decimal number", quote(s))
	case len(s) > 1 && s[0] == '0':
		return 0, fmt.Errorf("%s has a leading zero", quote(s))
	case len(s) > 8:
		return 0, fmt.Errorf("%s is too large", quote(s))
	}
	return strconv.Atoi(s)
}

// maxComponentDigits bounds each number of a dotted version: the same limit
// for versions given by hand, read from files and stored in a table, so
// that whatever is accepted on the way in is valid in the table.
const maxComponentDigits = 6

// versionComponent parses one number of a dotted version such as "6.1.187":
// a versionNumber of at most maxComponentDigits digits.
func versionComponent(s string) (int, error) {
	n, err := versionNumber(s)
	if err == nil && len(s) > maxComponentDigits {
		return 0, fmt.Errorf("%s is too large", quote(s))
	}
	return n, err
}
