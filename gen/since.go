package gen

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
)

// ErrConflict is wrapped by the errors of [Merge] when two sources disagree.
var ErrConflict = errors.New("capability sources disagree")

// Sources are the inputs of [Merge].
type Sources struct {
	// Committed is the table generated before, so that history is never
	// lost when only a new header is given. May be nil.
	Committed *Table
	// Headers are parsed kernel headers; those with a Version say that
	// their capabilities existed by that release.
	Headers []*Header
	// ManPage maps names to the release capabilities(7) gives for them
	// (see [ParseManPage]). May be nil.
	ManPage map[string]string
	// ManPageName names the man page in messages.
	ManPageName string
}

// Merge combines the sources into one table. Names and values must agree
// across all sources. A capability's since-version comes from the
// committed table or the man page, which must agree with each other, and
// must not be later than a versioned header that defines it; a capability
// neither of them knows gets the release of the oldest versioned header
// that defines it, or "" with a warning.
func Merge(src Sources) (*Table, []string, error) {
	m := newMerger(src)
	if err := m.collect(); err != nil {
		return nil, nil, err
	}
	t := &Table{Kernel: m.kernel}
	var warnings []string
	for _, v := range slices.Sorted(maps.Keys(m.byValue)) {
		name := m.byValue[v].name
		since, err := m.since(name)
		if err != nil {
			return nil, nil, err
		}
		if since == "" {
			warnings = append(warnings, fmt.Sprintf("%s: no source gives the kernel release that added it", name))
		}
		t.Capabilities = append(t.Capabilities, Entry{Name: name, Value: v, Since: since})
	}
	return t, warnings, nil
}

// origin is a capability's value and the source that first gave it.
type origin struct {
	name, source string
	value        int
}

type merger struct {
	src     Sources
	byName  map[string]origin
	byValue map[int]origin
	kernel  string
}

func newMerger(src Sources) *merger {
	m := &merger{src: src, byName: map[string]origin{}, byValue: map[int]origin{}}
	if src.Committed != nil {
		m.kernel = src.Committed.Kernel
	}
	return m
}

func (m *merger) collect() error {
	if c := m.src.Committed; c != nil {
		for _, e := range c.Capabilities {
			if err := m.define(origin{e.Name, "the committed table", e.Value}); err != nil {
				return err
			}
		}
	}
	for _, h := range m.src.Headers {
		if h.Version != "" && (m.kernel == "" || compareVersions(h.Version, m.kernel) > 0) {
			m.kernel = h.Version
		}
		for _, c := range h.Capabilities {
			if err := m.define(origin{c.Name, headerSource(h), c.Value}); err != nil {
				return err
			}
		}
	}
	return nil
}

func headerSource(h *Header) string {
	if h.Version == "" {
		return h.File
	}
	return fmt.Sprintf("%s (Linux %s)", h.File, h.Version)
}

func (m *merger) define(o origin) error {
	if prev, ok := m.byName[o.name]; ok {
		if prev.value != o.value {
			return fmt.Errorf("%w: %s is %d in %s but %d in %s", ErrConflict, o.name, prev.value, prev.source, o.value, o.source)
		}
		return nil
	}
	if prev, ok := m.byValue[o.value]; ok {
		return fmt.Errorf("%w: %d is %s in %s but %s in %s", ErrConflict, o.value, prev.name, prev.source, o.name, o.source)
	}
	m.byName[o.name] = o
	m.byValue[o.value] = o
	return nil
}

// since decides the release that added name; see Merge.
func (m *merger) since(name string) (string, error) {
	stated, statedBy, err := m.statedSince(name)
	if err != nil {
		return "", err
	}
	oldest, oldestBy := m.oldestHeader(name)
	switch {
	case stated == "":
		return oldest, nil
	case oldest != "" && compareVersions(oldest, stated) < 0:
		return "", fmt.Errorf("%w: %s is defined by %s but %s says since Linux %s", ErrConflict, name, oldestBy, statedBy, stated)
	}
	return stated, nil
}

// statedSince returns what the committed table and the man page say, after
// checking that they agree.
func (m *merger) statedSince(name string) (since, source string, err error) {
	var fromTable string
	if c := m.src.Committed; c != nil {
		e, _ := c.Lookup(name)
		fromTable = e.Since
	}
	fromMan := m.src.ManPage[name]
	switch {
	case fromTable != "" && fromMan != "" && compareVersions(fromTable, fromMan) != 0:
		return "", "", fmt.Errorf("%w: %s is since Linux %s in the committed table but since Linux %s in %s",
			ErrConflict, name, fromTable, fromMan, m.src.ManPageName)
	case fromTable != "":
		return fromTable, "the committed table", nil
	case fromMan != "":
		return fromMan, m.src.ManPageName, nil
	}
	return "", "", nil
}

// oldestHeader returns the release of the oldest versioned header defining
// name, and that header.
func (m *merger) oldestHeader(name string) (string, string) {
	var oldest, by string
	for _, h := range m.src.Headers {
		if h.Version == "" || !slices.ContainsFunc(h.Capabilities, func(c Capability) bool { return c.Name == name }) {
			continue
		}
		if r := release(h.Version); oldest == "" || compareVersions(r, oldest) < 0 {
			oldest, by = r, headerSource(h)
		}
	}
	return oldest, by
}

// manEntryPattern matches the tagged-paragraph heading of one capability in
// capabilities(7): `.B CAP_CHOWN` or `.BR CAP_BPF " (since Linux 5.8)"`. It
// is compiled by ParseManPage, its only user, so that programs importing gen
// pay nothing for it at start-up.
const manEntryPattern = `^\.BR? (CAP_[A-Z0-9_]+)(?: +" *\(since Linux ([0-9]+(?:\.[0-9]+)*)\)")? *$`

// manDefaultSince is the release capabilities(7) means when it gives none:
// the capabilities it lists without a version date from Linux 2.2.
const manDefaultSince = "2.2"

// ParseManPage reads capabilities(7) in roff source, plain or gzipped, and
// returns for each capability it describes the release that added it.
func ParseManPage(r io.Reader) (map[string]string, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("capabilities(7): %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	manEntry := regexp.MustCompile(manEntryPattern)
	since := map[string]string{}
	sc := bufio.NewScanner(br)
	afterTP := false
	for sc.Scan() {
		line := sc.Text()
		if afterTP {
			if m := manEntry.FindStringSubmatch(line); m != nil {
				if _, dup := since[m[1]]; !dup {
					since[m[1]] = cmp.Or(m[2], manDefaultSince)
				}
			}
		}
		afterTP = line == ".TP"
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("capabilities(7): %w", err)
	}
	if len(since) == 0 {
		return nil, errors.New("capabilities(7): no capability entries found")
	}
	return since, nil
}
