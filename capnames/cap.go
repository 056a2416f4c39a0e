package capnames

import (
	"errors"
	"fmt"
	"strconv"
)

// Cap is a Linux capability number, as the kernel numbers them: CAP_CHOWN is
// 0. Any value in 0..[MaxCap] is a valid capability even when the table does
// not name it.
type Cap int

// ErrUnknown is wrapped by every error about input that is not a capability.
var ErrUnknown = errors.New("unknown capability")

// Default returns the package's table, generated from upstream kernel
// headers.
func Default() *Table { return table }

// String returns the canonical name, "CAP_CHOWN", or the decimal number for
// a capability the table does not name ("41").
func (c Cap) String() string { return table.Name(c) }

// Since returns the first kernel release that defined c ("5.8"), or "" when
// the table does not know it.
func (c Cap) Since() string {
	e, _ := table.Lookup(c)
	return e.Since
}

// Known reports whether the table names c.
func (c Cap) Known() bool {
	_, ok := table.Lookup(c)
	return ok
}

// Valid reports whether c is within 0..[MaxCap], the range any kernel
// capability set can hold.
func (c Cap) Valid() bool { return c >= 0 && c <= MaxCap }

// All returns the capabilities of the table in ascending order, as a fresh
// slice.
func All() []Cap { return table.Caps() }

// Parse returns the capability s names in the package's table. See
// [Table.Parse] for what it accepts.
func Parse(s string) (Cap, error) { return table.Parse(s) }

// Parse returns the capability s names. It accepts a name with or without the
// "CAP_" prefix in any ASCII letter case ("CAP_SYS_ADMIN", "sys_admin",
// "Cap_Sys_Admin") and a canonical decimal number in 0..63 ("0", "39"; no
// sign, spaces, leading zeros or hex). Non-ASCII input never matches, so
// that Unicode case folding ("ſys_admin") cannot smuggle in a capability.
// Every error wraps [ErrUnknown] and quotes s, or for input longer than 128
// bytes its first 128 bytes and its length. Parse does not allocate when it
// succeeds.
func (t *Table) Parse(s string) (Cap, error) {
	if s == "" {
		return -1, parseError(s, "empty string")
	}
	if isDigits(s) {
		return parseNumber(s)
	}
	if len(s) > maxNameLen {
		return -1, parseError(s, "too long")
	}
	var buf [maxNameLen]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return -1, parseError(s, "not ASCII")
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	name := buf[:len(s)]
	if len(name) >= 4 && string(name[:4]) == "CAP_" {
		name = name[4:]
	}
	if c, ok := t.byName[string(name)]; ok {
		return c, nil
	}
	if c := s[0]; c >= '0' && c <= '9' {
		return -1, parseError(s, "neither a decimal number nor a name")
	}
	return -1, parseError(s, "no such name")
}

// isDigits reports whether s is non-empty and all ASCII decimal digits.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseNumber parses s, which is all decimal digits, as a canonical decimal
// in 0..63.
func parseNumber(s string) (Cap, error) {
	if len(s) > 1 && s[0] == '0' {
		return -1, parseError(s, "leading zero")
	}
	if len(s) > 2 || (len(s) == 2 && Cap(s[0]-'0')*10+Cap(s[1]-'0') > MaxCap) {
		return -1, parseError(s, "number above 63")
	}
	n := Cap(s[0] - '0')
	if len(s) == 2 {
		n = n*10 + Cap(s[1]-'0')
	}
	return n, nil
}

func parseError(s, reason string) error {
	return fmt.Errorf("capability %s: %w: %s", quoteInput(s), ErrUnknown, reason)
}

// maxQuoted is how much of an input errors quote: twice the longest name
// Parse accepts, so that any mistyped name is quoted whole, while a 1 MiB
// input does not make a 1 MiB message.
const maxQuoted = 2 * maxNameLen

// quoteInput quotes s for an error message: whole when it is at most
// maxQuoted bytes, else its first maxQuoted bytes, "..." and its length.
func quoteInput(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
	}
	return strconv.Quote(s)
}

func itoa(c Cap) string { return strconv.Itoa(int(c)) }
