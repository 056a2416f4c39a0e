package capnames

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSetAddRemoveHas(t *testing.T) {
	var s Set
	s.Add(CAP_CHOWN, CAP_SYS_ADMIN, 41, 63)
	s.Add(-1, 64, 65, 1000, -1<<40) // cannot be held: ignored
	s.Add(CAP_CHOWN)                // already there
	if want := Set(1<<0 | 1<<21 | 1<<41 | 1<<63); s != want {
		t.Fatalf("after Add: %s, want %s", s.Bitmap(), want.Bitmap())
	}
	if s.Len() != 4 {
		t.Errorf("Len() = %d, want 4", s.Len())
	}
	for c := Cap(-2); c <= 66; c++ {
		want := c == 0 || c == 21 || c == 41 || c == 63
		if s.Has(c) != want {
			t.Errorf("Has(%d) = %v, want %v", c, s.Has(c), want)
		}
	}
	if want := []Cap{0, 21, 41, 63}; !slices.Equal(s.Caps(), want) {
		t.Errorf("Caps() = %v, want %v", s.Caps(), want)
	}
	if want := []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "41", "63"}; !slices.Equal(s.Strings(), want) {
		t.Errorf("Strings() = %q, want %q", s.Strings(), want)
	}

	before := s
	s.Remove(-1, 64, 1000, 1) // out of range, or not in s: no change
	if s != before {
		t.Errorf("Remove of absent or out-of-range caps changed %s to %s", before.Bitmap(), s.Bitmap())
	}
	s.Remove(41, CAP_CHOWN)
	if want := SetOf(CAP_SYS_ADMIN, 63); s != want {
		t.Errorf("after Remove: %s, want %s", s.Bitmap(), want.Bitmap())
	}
}

func TestSetOf(t *testing.T) {
	if s := SetOf(); s != 0 {
		t.Errorf("SetOf() = %s", s.Bitmap())
	}
	if s := SetOf(-1, 64, 99); s != 0 {
		t.Errorf("SetOf(-1, 64, 99) = %s, want empty", s.Bitmap())
	}
	for c := Cap(0); c <= MaxCap; c++ {
		s := SetOf(c)
		if s.Len() != 1 || !s.Has(c) || !slices.Equal(s.Caps(), []Cap{c}) || !slices.Equal(s.Strings(), []string{c.String()}) {
			t.Errorf("SetOf(%d) = %s: Len %d Caps %v Strings %q", c, s.Bitmap(), s.Len(), s.Caps(), s.Strings())
		}
	}
}

func TestSetEmpty(t *testing.T) {
	var s Set
	if s.Len() != 0 || len(s.Caps()) != 0 || len(s.Strings()) != 0 || s.Has(0) {
		t.Errorf("empty set: Len %d Caps %v Strings %q", s.Len(), s.Caps(), s.Strings())
	}
	if s.Caps() == nil || s.Strings() == nil {
		t.Error("empty set: Caps or Strings is nil; want an empty slice (JSON [] not null)")
	}
}

func TestSetAlgebra(t *testing.T) {
	a := SetOf(0, 1, 2, 41)
	b := SetOf(2, 3, 41, 63)
	if got, want := a.Union(b), SetOf(0, 1, 2, 3, 41, 63); got != want {
		t.Errorf("Union = %v, want %v", got.Caps(), want.Caps())
	}
	if got, want := a.Intersect(b), SetOf(2, 41); got != want {
		t.Errorf("Intersect = %v, want %v", got.Caps(), want.Caps())
	}
	if got, want := a.Minus(b), SetOf(0, 1); got != want {
		t.Errorf("Minus = %v, want %v", got.Caps(), want.Caps())
	}
}

func TestUpTo(t *testing.T) {
	for _, last := range []Cap{-1 << 40, -64, -2, -1, 0, 1, 37, 40, 62, 63, 64, 100, 1 << 40} {
		// Build the expectation bit by bit, independent of UpTo's shift.
		var want Set
		for c := Cap(0); c <= MaxCap && c <= last; c++ {
			want |= 1 << c
		}
		got := UpTo(last)
		if got != want {
			t.Errorf("UpTo(%d) = %s, want %s", last, got.Bitmap(), want.Bitmap())
		}
		if last >= 0 && last < MaxCap && (got.Has(last+1) || !got.Has(last)) {
			t.Errorf("UpTo(%d): Has(last) %v, Has(last+1) %v", last, got.Has(last), got.Has(last+1))
		}
	}
	for _, tt := range []struct {
		last Cap
		want string
	}{
		{-1, "0000000000000000"},
		{0, "0000000000000001"},
		{40, "000001ffffffffff"},
		{63, "ffffffffffffffff"},
		{100, "ffffffffffffffff"},
	} {
		if got := UpTo(tt.last).Bitmap(); got != tt.want {
			t.Errorf("UpTo(%d).Bitmap() = %s, want %s", tt.last, got, tt.want)
		}
	}
}

func TestBitmapRoundTrip(t *testing.T) {
	for _, s := range []Set{0, 1, SetOf(41), UpTo(40), UpTo(40).Minus(SetOf(CAP_SYS_RESOURCE)), SetOf(63), ^Set(0)} {
		text := s.Bitmap()
		if len(text) != 16 || strings.ToLower(text) != text {
			t.Errorf("Bitmap() = %q, want 16 lower-case hex digits", text)
		}
		got, err := ParseBitmap(text)
		if err != nil || got != s {
			t.Errorf("ParseBitmap(%q) = %s, %v; want %s", text, got.Bitmap(), err, text)
		}
	}
	for in, want := range map[string]Set{
		"0":                0,
		"1":                SetOf(0),
		"3":                SetOf(0, 1),
		"8000000000000000": SetOf(63),
		"000001FFFEFFFFFF": UpTo(40).Minus(SetOf(24)),
		"0000020000000000": SetOf(41),
	} {
		if got, err := ParseBitmap(in); err != nil || got != want {
			t.Errorf("ParseBitmap(%q) = %s, %v; want %s", in, got.Bitmap(), err, want.Bitmap())
		}
	}
}

func TestParseBitmapErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"00000000000000001", // 17 digits
		"10000000000000000",
		"0x1",
		"-1",
		"+1",
		"g",
		" 1",
		"1 ",
		"1\n",
		"ff_ff",
		"ｆ",
		"\x00",
		strings.Repeat("f", 1<<20),
	} {
		s, err := ParseBitmap(in)
		if err == nil {
			t.Errorf("ParseBitmap(%.80q) = %s, nil; want an error", in, s.Bitmap())
			continue
		}
		if s != 0 {
			t.Errorf("ParseBitmap(%.80q) returned %s with its error; want empty", in, s.Bitmap())
		}
		if !identifiesInput(err.Error(), in) {
			t.Errorf("ParseBitmap(%.80q) error %.200q does not quote the input, or quotes too much of it", in, err)
		}
	}
}

// TestBitmapProcStatus round-trips the capability sets the kernel prints for
// this process.
func TestBitmapProcStatus(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/status is Linux only")
	}
	lines := procStatusCaps(t)
	for _, key := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		text, ok := lines[key]
		if !ok {
			t.Errorf("/proc/self/status has no %s line", key)
			continue
		}
		s, err := ParseBitmap(text)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if s.Bitmap() != text {
			t.Errorf("%s: ParseBitmap(%q).Bitmap() = %q", key, text, s.Bitmap())
		}
		n, err := strconv.ParseUint(text, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		for c := Cap(0); c <= MaxCap; c++ {
			if s.Has(c) != (n>>c&1 == 1) {
				t.Errorf("%s %s: Has(%d) = %v", key, text, c, s.Has(c))
			}
		}
	}
}

// procStatusCaps returns the Cap* lines of /proc/self/status by key.
func procStatusCaps(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	caps := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.HasPrefix(key, "Cap") {
			caps[key] = strings.TrimSpace(value)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return caps
}
