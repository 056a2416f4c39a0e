package ociruntime

// A runtime may be a wrapper: a script that runs another runtime
// ("exec runc "$@""), found through $PATH or named by its path. Replacing
// what the script runs changes nothing of the script's own identity, so a
// cache keyed on that alone would keep the old runtime's answer: measured,
// a wrapper switched from runc 1.1.5 to rc92 kept its entry, capgen wrote
// 40 capabilities, and the container failed `unknown capability
// "CAP_PERFMON"`. A script's identity therefore also covers the
// executables it names: every word of it that is an absolute path to one
// (the runtime it runs), or a name that $PATH resolves to one (runc, and the
// commands around it). Files that are not executable, such as the log a
// wrapper appends to, are left out: they change at every run. A compiled
// wrapper, a script that computes the name of what it runs or reads it from
// a configuration file, stays invisible: see docs/troubleshooting.md.

import (
	"bytes"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// maxScript is the size of the largest script whose files are followed.
const maxScript = 64 << 10

// scriptDeps returns a digest of the identities of the files the runtime
// script at path, of size bytes, names, in the order it names them; 0 for a
// file that is not a script (no "#!"). A file larger than maxScript, as
// every runtime binary is, is not opened: this runs on every probe.
func scriptDeps(path string, size int64) uint64 {
	if size > maxScript {
		return 0
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != "#!" {
		return 0
	}
	text, err := io.ReadAll(io.LimitReader(f, maxScript))
	if err != nil {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte("#!"))
	seen := map[string]bool{}
	for _, word := range scriptWords(text) {
		if seen[word] {
			continue
		}
		seen[word] = true
		if file, ok := namedFile(word); ok {
			id, err := statBinary(file)
			if err != nil {
				continue
			}
			h.Write([]byte(file))
			for _, v := range []int64{int64(id.Dev), int64(id.Ino), id.Size, id.Mtime, id.Ctime} {
				h.Write(strconv.AppendInt(nil, v, 10))
			}
		}
	}
	return h.Sum64() | 1 // never 0, which stands for no script
}

// scriptWords returns the words of a script that may name a file: the
// longest runs of the characters of paths and command names, without
// leading dashes ("${RUNC:-runc}" names runc).
func scriptWords(text []byte) []string {
	var words []string
	for _, w := range bytes.FieldsFunc(text, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '+' || r == '/' || r == '-')
	}) {
		if w = bytes.TrimLeft(w, "-"); len(w) > 0 {
			words = append(words, string(w))
		}
	}
	return words
}

// namedFile returns the executable a script's word names: by its absolute
// path, or a name $PATH resolves.
func namedFile(word string) (string, bool) {
	if filepath.IsAbs(word) {
		return word, isExecutable(word)
	}
	if bytes.ContainsRune([]byte(word), '/') {
		return "", false // relative to a working directory that is not the script's
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if !filepath.IsAbs(dir) {
			continue
		}
		if path := filepath.Join(dir, word); isExecutable(path) {
			return path, true
		}
	}
	return "", false
}

// isExecutable reports whether path is an executable regular file, as
// statBinary checks, without building an error for every miss: namedFile
// asks for each word of a script in each $PATH directory, a few hundred
// times for a short script.
func isExecutable(path string) bool {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&0o111 != 0
}
