package capnames

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want Cap
	}{
		{"CAP_SYS_ADMIN", CAP_SYS_ADMIN},
		{"sys_admin", CAP_SYS_ADMIN},
		{"SYS_ADMIN", CAP_SYS_ADMIN},
		{"Cap_Sys_Admin", CAP_SYS_ADMIN},
		{"cAP_sYS_aDMIN", CAP_SYS_ADMIN},
		{"cap_chown", CAP_CHOWN},
		{"CHOWN", CAP_CHOWN},
		{"CAP_KILL", CAP_KILL},
		{"ipc_lock", CAP_IPC_LOCK},
		{"CAP_CHECKPOINT_RESTORE", CAP_CHECKPOINT_RESTORE},
		{"checkpoint_restore", CAP_CHECKPOINT_RESTORE},
		{"0", 0},
		{"9", 9},
		{"10", 10},
		{"21", CAP_SYS_ADMIN},
		{"39", CAP_BPF},
		{"40", CAP_CHECKPOINT_RESTORE},
		{"41", 41}, // valid though the table does not name it
		{"63", 63},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
		}
	}
}

// confusables are non-ASCII spellings that Unicode case mapping or folding
// turns into a real capability name. Each must be rejected.
var confusables = []string{
	"ſys_admin",       // U+017F LATIN SMALL LETTER LONG S: ToUpper gives "S"
	"ſYS_ADMIN",       // ditto
	"CAP_ſYS_ADMIN",   // ditto, with the prefix
	"CAP_ſETUID",      // ditto
	"ıpc_lock",        // U+0131 LATIN SMALL LETTER DOTLESS I: ToUpper gives "I"
	"CAP_ıPC_LOCK",    // ditto
	"lınux_ımmutable", // ditto, twice
	"cap_\u212aill",   // U+212A KELVIN SIGN folds to "k"
	"CAP_\u212aILL",   // ditto
	"\u212aILL",       // ditto
}

func TestParseRejects(t *testing.T) {
	rejected := []string{
		"",
		" CAP_CHOWN",
		"CAP_CHOWN ",
		"CAP_CHOWN\n",
		"\tCAP_CHOWN",
		"CAP_",
		"cap_",
		"CAP",
		"_CHOWN",
		"CAP__CHOWN",
		"CAP_CAP_CHOWN",
		"CAPCHOWN",
		"CAP-CHOWN",
		"SYS-ADMIN",
		"SYS ADMIN",
		"CAP_SYS_ADMIN_",
		"CAP_NOPE",
		"ALL",
		"all",
		"ALL_CAPS",
		"all_caps",
		"CAP_ALL",
		"CAP_LAST_CAP",
		"CAP_39",
		"cap_0",
		"64",
		"65",
		"99",
		"100",
		"039",
		"00",
		"01",
		"0x27",
		"0X27",
		"0b1",
		"0o7",
		"27h",
		"3d",
		"1e1",
		"1.0",
		"1_0",
		"+1",
		"-1",
		"-0",
		" 1",
		"1 ",
		"99999999999999999999",
		"18446744073709551617",
		"\u0663",       // ARABIC-INDIC DIGIT THREE
		"\uff13\uff19", // fullwidth "39"
		"ＣＡＰ＿ＣＨＯＷＮ",    // fullwidth letters
		"ｃｈｏｗｎ",
		"CAP_ＣＨＯＷＮ",
		"CAP_SYS_ADM\u0130N", // U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE
		"CAP_CHOWN\x00",
		"\x00CAP_CHOWN",
		"CAP_CH\x00OWN",
		"\x00",
		"CAP_CHOWN\u200b", // ZERO WIDTH SPACE
		"\ufeffCAP_CHOWN", // BYTE ORDER MARK
		"CAP_CHOWN\xff",   // invalid UTF-8
		"CAP_" + strings.Repeat("A", 60),
		"CAP_" + strings.Repeat("A", 61),
		"CAP_CHOWN" + strings.Repeat(" ", 1<<20),
		strings.Repeat("A", 1<<20),
		strings.Repeat("9", 1<<20),
	}
	rejected = append(rejected, confusables...)
	for _, in := range rejected {
		c, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%s) = %v, nil; want an error", short(in), c)
			continue
		}
		if c.Valid() {
			t.Errorf("Parse(%s) returned %d with its error; want an invalid Cap", short(in), c)
		}
		if !errors.Is(err, ErrUnknown) {
			t.Errorf("Parse(%s) error %v does not wrap ErrUnknown", short(in), err)
		}
		if !identifiesInput(err.Error(), in) {
			t.Errorf("Parse(%s) error %s does not quote the input, or quotes too much of it", short(in), short(err.Error()))
		}
	}
}

// identifiesInput reports whether the error message msg names the input in
// as the package's errors promise: quoted whole when it is at most 128
// bytes, else its quoted first 128 bytes and its length, in a message that
// stays short.
func identifiesInput(msg, in string) bool {
	if len(in) <= 128 {
		return strings.Contains(msg, strconv.Quote(in))
	}
	return strings.Contains(msg, strconv.Quote(in[:128])+"...") &&
		strings.Contains(msg, strconv.Itoa(len(in))+" bytes") &&
		len(msg) < 1024
}

// short quotes s, abbreviated so that a 1 MiB input does not flood the log.
func short(s string) string {
	if len(s) > 80 {
		return strconv.Quote(s[:80]) + "…(" + strconv.Itoa(len(s)) + " bytes)"
	}
	return strconv.Quote(s)
}

// TestConfusablesAreReal checks that each confusable is a real threat: a
// parser that maps or folds Unicode case before matching would take it for
// a capability. Otherwise TestParseRejects would prove nothing about them.
func TestConfusablesAreReal(t *testing.T) {
	for _, in := range confusables {
		upper := strings.TrimPrefix(strings.ToUpper(in), "CAP_")
		folds := slices.ContainsFunc(Default().Entries(), func(e Entry) bool {
			name := strings.TrimPrefix(e.Name, "CAP_")
			return upper == name || strings.EqualFold(strings.TrimPrefix(in, "CAP_"), name) ||
				strings.EqualFold(strings.TrimPrefix(in, "cap_"), name)
		})
		if !folds {
			t.Errorf("%q maps or folds to no capability name; it is not a confusable", in)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		c    Cap
		want string
	}{
		{CAP_CHOWN, "CAP_CHOWN"},
		{CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
		{CAP_CHECKPOINT_RESTORE, "CAP_CHECKPOINT_RESTORE"},
		{41, "41"},
		{63, "63"},
		{-1, "-1"},
		{64, "64"},
		{-1 << 40, "-1099511627776"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Cap(%d).String() = %q, want %q", int(tt.c), got, tt.want)
		}
	}
}

func TestSince(t *testing.T) {
	tests := []struct {
		c    Cap
		want string
	}{
		{CAP_CHOWN, "2.2"},
		{CAP_MKNOD, "2.4"},
		{CAP_AUDIT_READ, "3.16"},
		{CAP_PERFMON, "5.8"},
		{CAP_BPF, "5.8"},
		{CAP_CHECKPOINT_RESTORE, "5.9"},
		{41, ""},
		{-1, ""},
		{64, ""},
	}
	for _, tt := range tests {
		if got := tt.c.Since(); got != tt.want {
			t.Errorf("%v.Since() = %q, want %q", tt.c, got, tt.want)
		}
	}
	version := regexp.MustCompile(`^[1-9][0-9]*\.[0-9]+(\.[0-9]+)?$`)
	for _, c := range All() {
		if !version.MatchString(c.Since()) {
			t.Errorf("%v.Since() = %q, want a kernel release", c, c.Since())
		}
	}
}

func TestKnownValid(t *testing.T) {
	for c := Cap(-2); c <= 66; c++ {
		wantValid := c >= 0 && c <= 63
		wantKnown := c >= 0 && c <= Last
		if c.Valid() != wantValid || c.Known() != wantKnown {
			t.Errorf("Cap(%d): Valid %v Known %v; want %v %v", int(c), c.Valid(), c.Known(), wantValid, wantKnown)
		}
	}
}

func TestAll(t *testing.T) {
	all := All()
	entries := Default().Entries()
	if len(all) != len(entries) {
		t.Fatalf("All() has %d capabilities, the table %d", len(all), len(entries))
	}
	for i, c := range all {
		if c != entries[i].Value {
			t.Errorf("All()[%d] = %d, table row %d is %d", i, c, i, entries[i].Value)
		}
		if i > 0 && all[i-1] >= c {
			t.Errorf("All() not ascending at %d: %d then %d", i, all[i-1], c)
		}
	}
	// The upstream table numbers its capabilities without gaps.
	if len(all) != int(Last)+1 || all[0] != CAP_CHOWN || all[len(all)-1] != Last {
		t.Errorf("All() = %v, want 0..%d", all, Last)
	}

	all[0], all[1] = CAP_SYS_ADMIN, 99
	if again := All(); again[0] != CAP_CHOWN || again[1] != CAP_DAC_OVERRIDE {
		t.Errorf("mutating the result of All changed the next call: %v", again[:2])
	}
}

func TestRoundTrip(t *testing.T) {
	for c := Cap(0); c <= MaxCap; c++ {
		got, err := Parse(c.String())
		if err != nil || got != c {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.String(), got, err, c)
		}
		got, err = Parse(strconv.Itoa(int(c)))
		if err != nil || got != c {
			t.Errorf("Parse(%q) = %d, %v; want %d", strconv.Itoa(int(c)), got, err, c)
		}
	}
	for _, e := range Default().Entries() {
		bare := strings.TrimPrefix(e.Name, "CAP_")
		for _, in := range []string{
			e.Name,
			strings.ToLower(e.Name),
			bare,
			strings.ToLower(bare),
			"Cap_" + titleCase(bare),
			titleCase(bare),
		} {
			got, err := Parse(in)
			if err != nil || got != e.Value {
				t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, e.Value)
			}
		}
	}
}

// titleCase turns "SYS_ADMIN" into "Sys_Admin".
func titleCase(s string) string {
	words := strings.Split(strings.ToLower(s), "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, "_")
}
