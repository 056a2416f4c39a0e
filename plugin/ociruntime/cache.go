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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	"golang.org/x/sys/unix"
)

// cacheFormat is the version of the cache file's contents. A file of any
// other version is ignored and rewritten.
const cacheFormat = 3

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

// The cache file is text, one field a line in a fixed order, strings
// quoted as Go quotes them:
//
//	capgen runtime features 3
//	path "/usr/bin/runc"
//	globals 1 "--network=none"
//	runtime "/usr/sbin/runc"
//	binary <dev> <ino> <size> <mtime ns> <ctime ns> <digest of a script's files>
//	source "features"
//	unknown false
//	reason ""
//	numerals false
//	allcaps false
//	shim false
//	version "runc 1.1.5"
//	names 2 "CAP_CHOWN" "CAP_KILL"
//	tested 0000000000000000
//	rejected 0
//	end
//
// "names -" stands for unknown names, distinct from "names 0"; tested and
// rejected are a trial's (see Features). It is not
// JSON because decoding it is the hot path, and this parses several times
// faster than encoding/json. The final "end" line catches a torn file.
const cacheMagic = "capgen runtime features"

// errCorrupt is returned by decodeCache for anything but a well-formed file
// of this format.
var errCorrupt = errors.New("corrupt probe cache file")

func encodeCache(key cacheKey, f *plugin.Features) []byte {
	b := make([]byte, 0, 256+32*len(f.Names))
	b = fmt.Appendf(b, "%s %d\n", cacheMagic, cacheFormat)
	b = fmt.Appendf(b, "path %s\n", strconv.Quote(key.Path))
	b = appendList(append(b, "globals "...), key.globals())
	b = fmt.Appendf(b, "\nruntime %s\n", strconv.Quote(f.Runtime))
	b = fmt.Appendf(b, "binary %d %d %d %d %d %d\n", key.Dev, key.Ino, key.Size, key.Mtime, key.Ctime, key.Deps)
	b = fmt.Appendf(b, "source %s\n", strconv.Quote(string(f.Source)))
	b = fmt.Appendf(b, "unknown %t\nreason %s\nnumerals %t\nallcaps %t\nshim %t\nversion %s\n",
		f.Unknown, strconv.Quote(f.Reason), f.Numerals, f.AllCaps, f.Shim, strconv.Quote(f.Version))
	if f.Names == nil {
		b = append(b, "names -"...)
	} else {
		b = appendList(append(b, "names "...), f.Names)
	}
	b = fmt.Appendf(b, "\ntested %s\n", f.Tested.Bitmap())
	b = appendList(append(b, "rejected "...), f.Rejected)
	return append(b, "\nend\n"...)
}

// appendList appends the count of list and its quoted strings.
func appendList(b []byte, list []string) []byte {
	b = strconv.AppendInt(b, int64(len(list)), 10)
	for _, s := range list {
		b = strconv.AppendQuote(append(b, ' '), s)
	}
	return b
}

// decodeCache parses a cache file, rejecting anything encodeCache would not
// have written for a probe result.
func decodeCache(data []byte) (cacheKey, *plugin.Features, error) {
	d := cacheDecoder{rest: string(data)}
	if d.field(cacheMagic) != strconv.Itoa(cacheFormat) {
		return cacheKey{}, nil, fmt.Errorf("%w: not %q format %d", errCorrupt, cacheMagic, cacheFormat)
	}
	var key cacheKey
	key.Path = d.quoted("path")
	key.Globals = strings.Join(d.list("globals"), "\x00")
	f := &plugin.Features{Runtime: d.quoted("runtime")}
	key.binaryID = d.binary()
	f.Source = plugin.Source(d.quoted("source"))
	f.Unknown = d.bool("unknown")
	f.Reason = d.quoted("reason")
	f.Numerals = d.bool("numerals")
	f.AllCaps = d.bool("allcaps")
	f.Shim = d.bool("shim")
	f.Version = d.quoted("version")
	f.Names = d.names()
	f.Tested = d.set("tested")
	if f.Rejected = d.list("rejected"); len(f.Rejected) == 0 {
		f.Rejected = nil
	}
	if d.line() != "end" || d.rest != "" || d.err != nil || !consistent(f) ||
		!filepath.IsAbs(key.Path) || !filepath.IsAbs(f.Runtime) {
		return cacheKey{}, nil, errCorrupt
	}
	return key, f, nil
}

// consistent reports whether f could have come from a probe: unknown
// answers are assumed and have a reason and no names, known ones names and
// no reason, only a trial tests or rejects, and AllCaps goes with
// "ALL_CAPS" listed.
func consistent(f *plugin.Features) bool {
	switch {
	case f.Unknown != (f.Names == nil) || f.Unknown != (f.Reason != ""):
		return false
	case f.Unknown != (f.Source == plugin.Assumed):
		return false
	case f.Source != plugin.FromTrial && (f.Tested != 0 || f.Rejected != nil):
		return false
	case f.Source != plugin.FromTrial && f.Source != plugin.FromFeatures && f.Source != plugin.Assumed:
		return false
	case f.Shim && (f.Source != plugin.FromFeatures || !f.AllCaps):
		return false
	}
	return f.AllCaps == slices.Contains(f.Names, capnames.AllCaps)
}

// cacheDecoder reads the lines of a cache file in order. The first error
// sticks and makes every later read return zero values.
type cacheDecoder struct {
	rest string
	err  error
}

func (d *cacheDecoder) line() string {
	line, rest, ok := strings.Cut(d.rest, "\n")
	if !ok || d.err != nil {
		d.err = errCorrupt
		return ""
	}
	d.rest = rest
	return line
}

// field consumes the line "<name> <value>" and returns value.
func (d *cacheDecoder) field(name string) string {
	value, ok := strings.CutPrefix(d.line(), name+" ")
	if !ok {
		d.err = errCorrupt
	}
	return value
}

func (d *cacheDecoder) quoted(name string) string {
	s, err := strconv.Unquote(d.field(name))
	if err != nil {
		d.err = errCorrupt
	}
	return s
}

func (d *cacheDecoder) bool(name string) bool {
	b, err := strconv.ParseBool(d.field(name))
	if err != nil {
		d.err = errCorrupt
	}
	return b
}

func (d *cacheDecoder) binary() binaryID {
	fields := strings.Split(d.field("binary"), " ")
	if len(fields) != 6 {
		d.err = errCorrupt
		return binaryID{}
	}
	var id binaryID
	var errs [6]error
	id.Dev, errs[0] = strconv.ParseUint(fields[0], 10, 64)
	id.Ino, errs[1] = strconv.ParseUint(fields[1], 10, 64)
	id.Size, errs[2] = strconv.ParseInt(fields[2], 10, 64)
	id.Mtime, errs[3] = strconv.ParseInt(fields[3], 10, 64)
	id.Ctime, errs[4] = strconv.ParseInt(fields[4], 10, 64)
	id.Deps, errs[5] = strconv.ParseUint(fields[5], 10, 64)
	if errors.Join(errs[:]...) != nil {
		d.err = errCorrupt
	}
	return id
}

func (d *cacheDecoder) names() []string {
	v := d.field("names")
	if d.err != nil || v == "-" {
		return nil
	}
	return d.parseList(v)
}

// list consumes the line "<name> <count> <quoted>..." and returns the
// strings.
func (d *cacheDecoder) list(name string) []string {
	v := d.field(name)
	if d.err != nil {
		return nil
	}
	return d.parseList(v)
}

func (d *cacheDecoder) set(name string) capnames.Set {
	s, err := capnames.ParseBitmap(d.field(name))
	if err != nil {
		d.err = errCorrupt
	}
	return s
}

// parseList parses "<count> <quoted>...".
func (d *cacheDecoder) parseList(v string) []string {
	countText, list, _ := strings.Cut(v, " ")
	count, err := strconv.Atoi(countText)
	if err != nil || count < 0 || count > len(list) || strconv.Itoa(count) != countText {
		d.err = errCorrupt
		return nil
	}
	items := make([]string, 0, count)
	for i := range count {
		if i > 0 {
			var ok bool
			if list, ok = strings.CutPrefix(list, " "); !ok {
				break
			}
		}
		q, err := strconv.QuotedPrefix(list)
		if err != nil {
			break
		}
		item, _ := strconv.Unquote(q)
		items = append(items, item)
		list = list[len(q):]
	}
	if len(items) != count || list != "" {
		d.err = errCorrupt
		return nil
	}
	return items
}

// unidentifiable is the identity of a binary whose file status says too
// little to tell it from a replacement; it equals no other identity, so
// nothing is ever cached for it.
func unidentifiable() binaryID {
	return binaryID{Size: -1, Mtime: time.Now().UnixNano()}
}
