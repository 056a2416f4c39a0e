package capnames

import (
	"fmt"
	"math/bits"
	"strconv"
)

// Set is a set of capabilities in the kernel's own layout: bit n is
// capability n. Bits the table does not name are kept like any other.
type Set uint64

// SetOf returns the set holding caps. Values outside 0..63 are ignored.
func SetOf(caps ...Cap) Set {
	var s Set
	s.Add(caps...)
	return s
}

// UpTo returns the set of every capability from 0 through last: what a
// kernel whose last capability is last can hold. It is empty for a
// negative last and full for a last of 63 or more.
func UpTo(last Cap) Set {
	switch {
	case last < 0:
		return 0
	case last >= MaxCap:
		return ^Set(0)
	}
	return Set(1)<<(last+1) - 1
}

// Add adds caps to s. Values outside 0..63 cannot be held and are ignored.
func (s *Set) Add(caps ...Cap) {
	for _, c := range caps {
		if c.Valid() {
			*s |= 1 << c
		}
	}
}

// Remove removes caps from s.
func (s *Set) Remove(caps ...Cap) {
	for _, c := range caps {
		if c.Valid() {
			*s &^= 1 << c
		}
	}
}

// Has reports whether c is in s.
func (s Set) Has(c Cap) bool { return c.Valid() && s&(1<<c) != 0 }

// Len returns the number of capabilities in s.
func (s Set) Len() int { return bits.OnesCount64(uint64(s)) }

// Union returns the capabilities in s or o.
func (s Set) Union(o Set) Set { return s | o }

// Intersect returns the capabilities in both s and o.
func (s Set) Intersect(o Set) Set { return s & o }

// Minus returns the capabilities in s that are not in o.
func (s Set) Minus(o Set) Set { return s &^ o }

// Caps returns the capabilities in s in ascending order.
func (s Set) Caps() []Cap {
	caps := make([]Cap, 0, s.Len())
	for v := uint64(s); v != 0; v &= v - 1 {
		caps = append(caps, Cap(bits.TrailingZeros64(v)))
	}
	return caps
}

// Strings returns the names of the capabilities in s in ascending order of
// number; capabilities the table does not name appear as decimal numbers.
func (s Set) Strings() []string {
	names := make([]string, 0, s.Len())
	for _, c := range s.Caps() {
		names = append(names, c.String())
	}
	return names
}

// Bitmap returns s as the kernel prints capability sets in
// /proc/PID/status: 16 lower-case hexadecimal digits.
func (s Set) Bitmap() string { return fmt.Sprintf("%016x", uint64(s)) }

// ParseBitmap parses a capability set as the kernel prints it in
// /proc/PID/status ("000001fffeffffff"): 1 to 16 hexadecimal digits, no
// prefix, no sign, no spaces.
func ParseBitmap(hex string) (Set, error) {
	if hex == "" || len(hex) > 16 {
		return 0, fmt.Errorf("capability bitmap %s: want 1 to 16 hexadecimal digits", quoteInput(hex))
	}
	for i := 0; i < len(hex); i++ {
		if !isHexDigit(hex[i]) {
			return 0, fmt.Errorf("capability bitmap %s: byte %d is not a hexadecimal digit", quoteInput(hex), i)
		}
	}
	v, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("capability bitmap %q: %w", hex, err)
	}
	return Set(v), nil
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
