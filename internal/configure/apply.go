package configure

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/capgen-dev/capgen/internal/shim/record"
)

// Apply carries out changes in order. A file it modifies is backed up
// first (once: an existing backup is the older original, and is kept),
// keeps its permissions, and is replaced atomically; a file it creates
// gets its directory if need be.
func Apply(changes []Change) error {
	for _, c := range changes {
		if err := apply(c); err != nil {
			return fmt.Errorf("%s: %w", c.Path, err)
		}
	}
	return nil
}

func apply(c Change) error {
	switch {
	case c.LinkTo != "" && c.New == nil:
		return os.Remove(c.Path)
	case c.LinkTo != "":
		if c.Old != nil {
			if err := os.Remove(c.Path); err != nil {
				return err
			}
		}
		return os.Symlink(c.LinkTo, c.Path)
	case c.New == nil:
		if err := os.Remove(c.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	perm := c.Perm
	if st, err := os.Stat(c.Path); err == nil {
		perm = st.Mode().Perm()
		if c.Backup != "" {
			if err := backUp(c.Backup, c.Old, perm); err != nil {
				return err
			}
		}
	} else if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
		return err
	}
	return record.WriteFileAtomic(c.Path, c.New, perm)
}

// backUp writes the original of a file to path, unless a backup is there.
func backUp(path string, original []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(original); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Diff shows changes as unified-diff-like text: per file, the lines that
// differ, without context.
func Diff(changes []Change) string {
	var b strings.Builder
	for _, c := range changes {
		if c.LinkTo != "" {
			if c.New == nil {
				fmt.Fprintf(&b, "remove link %s -> %s\n", c.Path, c.Old)
			} else {
				fmt.Fprintf(&b, "link %s -> %s\n", c.Path, c.New)
			}
			continue
		}
		oldName, newName := c.Path, c.Path
		if c.Old == nil {
			oldName = "/dev/null"
		}
		if c.New == nil {
			newName = "/dev/null"
		}
		fmt.Fprintf(&b, "--- %s\n+++ %s\n", oldName, newName)
		oldLines, newLines := lines(c.Old), lines(c.New)
		pre := 0
		for pre < len(oldLines) && pre < len(newLines) && oldLines[pre] == newLines[pre] {
			pre++
		}
		post := 0
		for post < len(oldLines)-pre && post < len(newLines)-pre && oldLines[len(oldLines)-1-post] == newLines[len(newLines)-1-post] {
			post++
		}
		fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", pre+1, len(oldLines)-pre-post, pre+1, len(newLines)-pre-post)
		for _, l := range oldLines[pre : len(oldLines)-post] {
			fmt.Fprintf(&b, "-%s\n", l)
		}
		for _, l := range newLines[pre : len(newLines)-post] {
			fmt.Fprintf(&b, "+%s\n", l)
		}
	}
	return b.String()
}

func lines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}
