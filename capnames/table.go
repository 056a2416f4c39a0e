package capnames

import (
	"errors"
	"fmt"
	"strings"
)

// MaxCap is the highest capability number a 64-bit kernel capability set can
// hold. No kernel can define a capability above it.
const MaxCap Cap = 63

// maxNameLen bounds the names Parse considers; longer input is rejected
// without copying it.
const maxNameLen = 64

// Entry is one row of a capability table.
type Entry struct {
	Name  string `json:"name"`            // canonical name, "CAP_CHOWN"
	Value Cap    `json:"value"`           // the kernel's number
	Since string `json:"since,omitempty"` // first kernel release with it, "2.2"; "" if unknown
}

// Table is an immutable capability table. The package's own table, generated
// from upstream kernel headers, is [Default]; capgen generate --out emits
// other tables (vendor kernels) as packages that build one with [NewTable].
type Table struct {
	kernel  string
	entries []Entry          // sorted by Value
	index   [MaxCap + 1]int8 // entries index + 1 by value; 0 when unnamed
	byName  map[string]Cap   // upper-case name without the "CAP_" prefix
}

// ErrInvalidTable is wrapped by the errors of [NewTable].
var ErrInvalidTable = errors.New("invalid capability table")

// NewTable checks entries and returns a table of them. kernel is the version
// of the newest header the entries come from. Names must be "CAP_" followed by
// upper-case ASCII letters, digits and underscores, not all digits, and at
// most 64 bytes long in all; names and values must be unique, values within
// 0..63, and entries sorted by value.
func NewTable(kernel string, entries []Entry) (*Table, error) {
	t := &Table{kernel: kernel, byName: make(map[string]Cap, len(entries))}
	t.entries = make([]Entry, 0, len(entries))
	for _, e := range entries {
		if err := t.add(e); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidTable, err)
		}
	}
	return t, nil
}

// MustNewTable is like [NewTable] but panics on an invalid table. It is meant
// for generated code, whose tables the generator has already checked.
func MustNewTable(kernel string, entries []Entry) *Table {
	t, err := NewTable(kernel, entries)
	if err != nil {
		panic(err)
	}
	return t
}

func (t *Table) add(e Entry) error {
	if e.Value < 0 || e.Value > MaxCap {
		return fmt.Errorf("%s: value %d outside 0..%d", e.Name, e.Value, MaxCap)
	}
	short, ok := strings.CutPrefix(e.Name, "CAP_")
	if !ok || !isCanonicalName(short) {
		return fmt.Errorf("%q: not a canonical capability name", e.Name)
	}
	if len(e.Name) > maxNameLen {
		return fmt.Errorf("%s: name longer than %d bytes, which Parse would never match", e.Name, maxNameLen)
	}
	if isDigits(short) {
		return fmt.Errorf("%s: an all-digit name is ambiguous with the numeral %s", e.Name, short)
	}
	if prev, dup := t.byName[short]; dup {
		return fmt.Errorf("%s: defined as both %d and %d", e.Name, prev, e.Value)
	}
	if i := t.index[e.Value]; i != 0 {
		return fmt.Errorf("%s and %s: both are %d", t.entries[i-1].Name, e.Name, e.Value)
	}
	if n := len(t.entries); n > 0 && t.entries[n-1].Value > e.Value {
		return fmt.Errorf("%s: entries not sorted by value", e.Name)
	}
	t.entries = append(t.entries, e)
	t.index[e.Value] = int8(len(t.entries))
	t.byName[short] = e.Value
	return nil
}

func isCanonicalName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Kernel returns the kernel version of the newest header the table was
// generated from.
func (t *Table) Kernel() string { return t.kernel }

// Last returns the highest capability the table names, or -1 for an empty
// table.
func (t *Table) Last() Cap {
	if len(t.entries) == 0 {
		return -1
	}
	return t.entries[len(t.entries)-1].Value
}

// Entries returns a copy of the table's rows, sorted by value.
func (t *Table) Entries() []Entry {
	return append([]Entry(nil), t.entries...)
}

// Caps returns the capabilities the table names, in ascending order, as a
// fresh slice.
func (t *Table) Caps() []Cap {
	caps := make([]Cap, len(t.entries))
	for i, e := range t.entries {
		caps[i] = e.Value
	}
	return caps
}

// Set returns the capabilities the table names as a set.
func (t *Table) Set() Set {
	var s Set
	for _, e := range t.entries {
		s.Add(e.Value)
	}
	return s
}

// Lookup returns the table's row for c.
func (t *Table) Lookup(c Cap) (Entry, bool) {
	if c < 0 || c > MaxCap || t.index[c] == 0 {
		return Entry{}, false
	}
	return t.entries[t.index[c]-1], true
}

// Name returns the canonical name of c, or its decimal number when the
// table does not name it.
func (t *Table) Name(c Cap) string {
	if e, ok := t.Lookup(c); ok {
		return e.Name
	}
	return itoa(c)
}

// UpTo returns a table holding only the rows of t whose value is at most
// last: the table an older kernel's header would have produced.
func (t *Table) UpTo(last Cap) *Table {
	var keep []Entry
	for _, e := range t.entries {
		if e.Value <= last {
			keep = append(keep, e)
		}
	}
	return MustNewTable("", keep)
}
