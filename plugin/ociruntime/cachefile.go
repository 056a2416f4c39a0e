package ociruntime

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
)

// cacheFormat is the version of the cache file's contents. A file of any
// other version is ignored and rewritten.
const cacheFormat = 3

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
// no reason, only a trial tests or rejects, a shim advertises ALL_CAPS in
// its features, and no name is "ALL_CAPS".
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
	return !slices.Contains(f.Names, capnames.AllCaps)
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
