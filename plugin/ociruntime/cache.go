package ociruntime

// The probe cache is never stale because every lookup, in memory or on disk,
// is keyed on the identity of the runtime binary as it is now: its path,
// device, inode, size, mtime and ctime, and for a wrapper script those of
// the files it names (wrapper.go). Replacing the binary (a package
// upgrade renames a new file into place: new inode, new ctime) or touching
// it (new mtime and ctime) changes the key, so the next call probes again.
// ctime cannot be set by user space, so the key cannot be forged back.
//
// On disk there is one small file per runtime path,
// <dir>/features-v3-<hash of the path and global options>.cache, rather than one file
// for all runtimes: a probe of one runtime never rewrites, locks or risks
// another's entry, and the hot path parses a few hundred bytes. The format
// version is both inside the file and in its name, so engines that vendor
// different capgen releases (Podman and Buildah on one host) keep separate
// files instead of overwriting each other's on every call.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/capgen-dev/capgen/plugin"
	"golang.org/x/sys/unix"
)

// binaryID is the identity of a runtime binary: any change to its contents
// changes at least its ctime.
type binaryID struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the epoch
	// Deps, for a script, is a digest of the identities of the files it
	// names (wrapper.go); 0 for a binary.
	Deps uint64
}

// cacheKey is what a cache file is valid for: the runtime's path as
// [Prober.locate] found it (absolute; for a name, the configured path) and
// the identity of the binary it leads to. The path with symbolic links
// resolved is recorded in the file (Features.Runtime) but not compared: it
// costs a system call per path component, and adds nothing to the identity,
// which already names one file (device and inode) in one state (size,
// mtime, ctime).
type cacheKey struct {
	Path string
	// Globals are the global options the runtime is probed with, as
	// [TrialGlobals] keeps them, separated by NUL, which no argument holds.
	Globals string
	binaryID
}

// name is the key without the binary's identity: one memo entry, one
// cache file and one lock per runtime path and global options.
func (k cacheKey) name() string {
	if k.Globals == "" {
		return k.Path
	}
	return k.Path + "\x00" + k.Globals
}

// globals returns the key's global options.
func (k cacheKey) globals() []string {
	if k.Globals == "" {
		return nil
	}
	return strings.Split(k.Globals, "\x00")
}

// memoEntry is the memoised answer for a path as the caller named it and
// global options.
type memoEntry struct {
	id binaryID
	f  *plugin.Features
}

// recall returns the memoised answer for key if its binary is unchanged.
func (p *Prober) recall(key cacheKey) *plugin.Features {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.memo[key.name()]; ok && e.id == key.binaryID {
		return e.f
	}
	return nil
}

// remember memoises f for key, replacing the answer for an older binary.
func (p *Prober) remember(key cacheKey, f *plugin.Features) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.memo == nil {
		p.memo = make(map[string]memoEntry)
	}
	p.memo[key.name()] = memoEntry{id: key.binaryID, f: f}
}

// diskCache returns p's cache directory, or nil when disabled or unknown.
func (p *Prober) diskCache() *diskCache {
	if p.DisableDiskCache {
		return nil
	}
	dir := p.CacheDir
	if dir == "" {
		var err error
		if dir, err = DefaultCacheDir(); err != nil {
			return nil
		}
	}
	return &diskCache{dir: dir}
}

// diskCache is a directory of cache files, one per runtime binary.
type diskCache struct {
	dir string
}

// maxCacheFile bounds the cache file a reader accepts; a probe result is at
// most the output limit of names plus a little.
const maxCacheFile = 4 << 20

// base is the path of the cache file for the runtime and global options
// of key, without extension.
func (c *diskCache) base(key cacheKey) string {
	sum := sha256.Sum256([]byte(key.name()))
	return filepath.Join(c.dir, fmt.Sprintf("features-v%d-%s", cacheFormat, hex.EncodeToString(sum[:16])))
}

// load returns the cached answer for key, or nil when the file is missing,
// unreadable, corrupt, foreign, of another format or for another binary.
func (c *diskCache) load(key cacheKey) *plugin.Features {
	var buf [4096]byte // a cache file of 41 names takes about 1 KiB
	data, err := readCacheFile(c.base(key)+".cache", buf[:0])
	if err != nil {
		return nil
	}
	got, f, err := decodeCache(data)
	if err != nil || got != key {
		return nil
	}
	return f
}

// readCacheFile reads the file at path into data's spare capacity, growing
// it as needed, with the fewest system calls (open, read, close: this is
// the hot path), without following a symbolic link or blocking on a FIFO
// put in its place.
func readCacheFile(path string, data []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Read(fd, data[len(data):cap(data)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		data = data[:len(data)+n]
		if n == 0 || len(data) < cap(data) {
			// EOF, or a short read, which for a regular file is EOF;
			// anything else (a device, a torn file) fails to decode.
			return data, nil
		}
		if len(data) >= maxCacheFile {
			return nil, fmt.Errorf("%s: larger than %s", path, byteSize(maxCacheFile))
		}
		data = slices.Grow(data, max(len(data), 4096))
	}
}

// store writes f as the answer for key: to a temporary file in the same
// directory, renamed over the cache file, so a reader sees the old file or
// the new one, never a part. Skipping fsync is deliberate: the directory is
// normally tmpfs, and a file torn by a crash fails to decode.
func (c *diskCache) store(key cacheKey, f *plugin.Features) error {
	tmp, err := os.CreateTemp(c.dir, ".features-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(encodeCache(key, f)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	file := c.base(key) + ".cache"
	err = os.Rename(tmp.Name(), file)
	if err != nil && (errors.Is(err, unix.EISDIR) || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST)) {
		// An empty directory squats on the name: remove it and retry.
		if os.Remove(file) == nil {
			err = os.Rename(tmp.Name(), file)
		}
	}
	return err
}

// lock takes the inter-process lock of key's cache file (flock(2) on a
// lock file beside it), waiting up to wait or until ctx ends. It
// creates the directory if needed. An error means the directory is not
// usable or the holder took too long; the caller goes on without the disk
// cache.
func (c *diskCache) lock(ctx context.Context, key cacheKey, wait time.Duration) (unlock func(), err error) {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, err
	}
	path := c.base(key) + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err // the lock file cannot be opened: not contention
	}
	deadline := time.Now().Add(wait)
	delay := time.Millisecond
	for {
		// A lock of its own open file: goroutines exclude each other too.
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("waiting for %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// unidentifiable is the identity of a binary whose file status says too
// little to tell it from a replacement; it equals no other identity, so
// nothing is ever cached for it.
func unidentifiable() binaryID {
	return binaryID{Size: -1, Mtime: time.Now().UnixNano()}
}
