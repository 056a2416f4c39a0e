package capnames

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// vendorEntries is a fork's table with gaps and a name starting with a
// digit, the shapes NewTable must accept.
var vendorEntries = []Entry{
	{Name: "CAP_CHOWN", Value: 0, Since: "2.2"},
	{Name: "CAP_SYS_ADMIN", Value: 21, Since: "2.2"},
	{Name: "CAP_CHECKPOINT_RESTORE", Value: 40, Since: "5.9"},
	{Name: "CAP_SYS_CONTROL", Value: 41},
	{Name: "CAP_3D", Value: 50},
	{Name: "CAP_BLOCK_ADMIN", Value: 61},
}

func TestNewTableVendor(t *testing.T) {
	tab, err := NewTable("5.10-vendor", vendorEntries)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Kernel() != "5.10-vendor" {
		t.Errorf("Kernel() = %q", tab.Kernel())
	}
	if tab.Last() != 61 {
		t.Errorf("Last() = %d, want 61", tab.Last())
	}
	if want := []Cap{0, 21, 40, 41, 50, 61}; !slices.Equal(tab.Caps(), want) {
		t.Errorf("Caps() = %v, want %v", tab.Caps(), want)
	}
	if want := Set(1<<0 | 1<<21 | 1<<40 | 1<<41 | 1<<50 | 1<<61); tab.Set() != want {
		t.Errorf("Set() = %s, want %s", tab.Set().Bitmap(), want.Bitmap())
	}
	for in, want := range map[string]Cap{
		"CAP_SYS_CONTROL": 41, "sys_control": 41, "block_admin": 61,
		"CAP_3D": 50, "3d": 50, "3D": 50, "cap_3d": 50,
		"41": 41, "1": 1, "63": 63,
	} {
		if got, err := tab.Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"CAP_KILL", "kill", "64", "CAP_41", "ſys_control"} {
		if got, err := tab.Parse(in); !errors.Is(err, ErrUnknown) {
			t.Errorf("Parse(%q) = %d, %v; want ErrUnknown", in, got, err)
		}
	}
	for c, want := range map[Cap]string{41: "CAP_SYS_CONTROL", 42: "42", 1: "1", 61: "CAP_BLOCK_ADMIN"} {
		if got := tab.Name(c); got != want {
			t.Errorf("Name(%d) = %q, want %q", c, got, want)
		}
	}
}

func TestNewTableErrors(t *testing.T) {
	chown := Entry{Name: "CAP_CHOWN", Value: 0}
	tests := []struct {
		name    string
		entries []Entry
		mention string // what the error must name
	}{
		{"duplicate name", []Entry{chown, {Name: "CAP_CHOWN", Value: 1}}, "CAP_CHOWN"},
		{"duplicate identical row", []Entry{chown, chown}, "CAP_CHOWN"},
		{"duplicate value", []Entry{{Name: "CAP_AUDIT_WRITE", Value: 29}, {Name: "CAP_SETVEID", Value: 29}}, "CAP_AUDIT_WRITE and CAP_SETVEID"},
		{"value 64", []Entry{{Name: "CAP_BIG", Value: 64}}, "CAP_BIG"},
		{"value -1", []Entry{{Name: "CAP_NEG", Value: -1}}, "CAP_NEG"},
		{"value 1000", []Entry{{Name: "CAP_HUGE", Value: 1000}}, "CAP_HUGE"},
		{"unsorted", []Entry{{Name: "CAP_KILL", Value: 5}, chown}, "CAP_CHOWN"},
		{"no prefix", []Entry{{Name: "CHOWN", Value: 0}}, "CHOWN"},
		{"prefix only", []Entry{{Name: "CAP_", Value: 0}}, "CAP_"},
		{"empty name", []Entry{{Name: "", Value: 0}}, `""`},
		{"lower case", []Entry{{Name: "CAP_chown", Value: 0}}, "CAP_chown"},
		{"lower-case prefix", []Entry{{Name: "cap_CHOWN", Value: 0}}, "cap_CHOWN"},
		{"space", []Entry{{Name: "CAP_CHOWN ", Value: 0}}, "CAP_CHOWN "},
		{"dash", []Entry{{Name: "CAP_SYS-ADMIN", Value: 0}}, "CAP_SYS-ADMIN"},
		{"non-ASCII", []Entry{{Name: "CAP_ſYS", Value: 0}}, "CAP_ſYS"},
		{"NUL", []Entry{{Name: "CAP_A\x00", Value: 0}}, `CAP_A\x00`},
		{"all digits", []Entry{{Name: "CAP_12", Value: 0}}, "CAP_12"},
		{"too long", []Entry{{Name: "CAP_" + strings.Repeat("X", 61), Value: 0}}, "CAP_XXX"},
	}
	for _, tt := range tests {
		tab, err := NewTable("", tt.entries)
		if err == nil {
			t.Errorf("%s: NewTable succeeded with %d rows", tt.name, len(tab.Entries()))
			continue
		}
		if !errors.Is(err, ErrInvalidTable) {
			t.Errorf("%s: error %v does not wrap ErrInvalidTable", tt.name, err)
		}
		if !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("%s: error %q does not mention %q", tt.name, err, tt.mention)
		}
	}
}

// TestNewTableLongestName checks the boundary of the name length limit: a
// 64-byte name is accepted and Parse finds it in any spelling.
func TestNewTableLongestName(t *testing.T) {
	name := "CAP_" + strings.Repeat("X", 60)
	tab, err := NewTable("", []Entry{{Name: name, Value: 7}})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{name, strings.ToLower(name), name[4:]} {
		if got, err := tab.Parse(in); err != nil || got != 7 {
			t.Errorf("Parse(%d-byte name) = %d, %v; want 7", len(in), got, err)
		}
	}
}

func TestMustNewTablePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("MustNewTable with a duplicate value did not panic")
		}
	}()
	MustNewTable("", []Entry{{Name: "CAP_A", Value: 1}, {Name: "CAP_B", Value: 1}})
}

func TestEmptyTable(t *testing.T) {
	tab, err := NewTable("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Last() != -1 || len(tab.Caps()) != 0 || tab.Set() != 0 || len(tab.Entries()) != 0 {
		t.Errorf("empty table: Last %d, Caps %v, Set %v, Entries %v", tab.Last(), tab.Caps(), tab.Set(), tab.Entries())
	}
	if c, err := tab.Parse("CAP_CHOWN"); !errors.Is(err, ErrUnknown) {
		t.Errorf("empty table Parse(CAP_CHOWN) = %d, %v", c, err)
	}
	if c, err := tab.Parse("0"); err != nil || c != 0 {
		t.Errorf(`empty table Parse("0") = %d, %v; numerals need no name`, c, err)
	}
}

func TestDefault(t *testing.T) {
	tab := Default()
	if tab.Kernel() != TableKernel {
		t.Errorf("Kernel() = %q, TableKernel %q", tab.Kernel(), TableKernel)
	}
	if tab.Last() != Last {
		t.Errorf("Last() = %d, const Last %d", tab.Last(), Last)
	}
	if tab.Set() != UpTo(Last) {
		t.Errorf("Set() = %s, want 0..%d", tab.Set().Bitmap(), Last)
	}
}

func TestTableUpTo(t *testing.T) {
	tab := Default()
	vendor := MustNewTable("", vendorEntries)
	tests := []struct {
		tab  *Table
		last Cap
		want []Cap
	}{
		{tab, -1, []Cap{}},
		{tab, 0, []Cap{0}},
		{tab, CAP_AUDIT_READ, capRange(0, 37)},
		{tab, Last - 1, capRange(0, Last-1)},
		{tab, Last, capRange(0, Last)},
		{tab, MaxCap, capRange(0, Last)},
		{tab, 1000, capRange(0, Last)},
		{vendor, 39, []Cap{0, 21}},
		{vendor, 40, []Cap{0, 21, 40}},
		{vendor, 41, []Cap{0, 21, 40, 41}},
		{vendor, 60, []Cap{0, 21, 40, 41, 50}},
		{vendor, 61, []Cap{0, 21, 40, 41, 50, 61}},
	}
	for _, tt := range tests {
		up := tt.tab.UpTo(tt.last)
		if got := up.Caps(); !slices.Equal(got, tt.want) {
			t.Errorf("UpTo(%d).Caps() = %v, want %v", tt.last, got, tt.want)
		}
		wantLast := Cap(-1)
		if len(tt.want) > 0 {
			wantLast = tt.want[len(tt.want)-1]
		}
		if up.Last() != wantLast {
			t.Errorf("UpTo(%d).Last() = %d, want %d", tt.last, up.Last(), wantLast)
		}
		// A capability cut off is no longer a name, only a numeral.
		for _, e := range tt.tab.Entries() {
			_, err := up.Parse(e.Name)
			if kept := e.Value <= tt.last; kept != (err == nil) {
				t.Errorf("UpTo(%d).Parse(%q) error %v; kept %v", tt.last, e.Name, err, kept)
			}
			if e.Value > tt.last && up.Name(e.Value) != strconv.Itoa(int(e.Value)) {
				t.Errorf("UpTo(%d).Name(%d) = %q, want the numeral", tt.last, e.Value, up.Name(e.Value))
			}
		}
	}
	if tab.Last() != Last || len(tab.Caps()) != int(Last)+1 {
		t.Errorf("UpTo changed the table it was called on: Last %d, %d caps", tab.Last(), len(tab.Caps()))
	}
}

func capRange(from, to Cap) []Cap {
	var caps []Cap
	for c := from; c <= to; c++ {
		caps = append(caps, c)
	}
	return caps
}

func TestEntriesIsCopy(t *testing.T) {
	e := Default().Entries()
	e[0] = Entry{Name: "CAP_EVIL", Value: 0}
	_ = append(e[:1], Entry{Name: "CAP_EVIL2", Value: 1})
	again := Default().Entries()
	if again[0].Name != "CAP_CHOWN" || again[1].Name != "CAP_DAC_OVERRIDE" {
		t.Errorf("mutating Entries() changed the table: %v", again[:2])
	}
	if CAP_CHOWN.String() != "CAP_CHOWN" {
		t.Errorf("mutating Entries() changed String: %q", CAP_CHOWN.String())
	}
	c := Default().Caps()
	c[0] = 99
	if Default().Caps()[0] != CAP_CHOWN {
		t.Error("mutating Caps() changed the table")
	}
}

func TestLookup(t *testing.T) {
	tab := Default()
	if e, ok := tab.Lookup(CAP_CHOWN); !ok || e != (Entry{Name: "CAP_CHOWN", Value: 0, Since: "2.2"}) {
		t.Errorf("Lookup(0) = %+v, %v", e, ok)
	}
	if e, ok := tab.Lookup(CAP_BPF); !ok || e != (Entry{Name: "CAP_BPF", Value: 39, Since: "5.8"}) {
		t.Errorf("Lookup(39) = %+v, %v", e, ok)
	}
	for _, c := range []Cap{-1, Last + 1, 63, 64, -1 << 40, 1 << 40} {
		if e, ok := tab.Lookup(c); ok || e != (Entry{}) {
			t.Errorf("Lookup(%d) = %+v, %v; want zero, false", c, e, ok)
		}
	}
	for _, e := range tab.Entries() {
		if got, ok := tab.Lookup(e.Value); !ok || got != e {
			t.Errorf("Lookup(%d) = %+v, %v; want %+v", e.Value, got, ok, e)
		}
	}
}
