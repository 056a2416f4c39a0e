package gen

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseHeaderChecks checks that ParseHeader either fails with an error
// wrapping ErrInvalidHeader that names the file, or returns a header that
// passes every check the parser promises: at least one capability, names
// of the form CAP_[A-Z0-9_]+, unique names and values, values in 0..63 in
// ascending order, Last equal to the largest value, aliases that resolve to
// defined capabilities. A valid result must also survive a round trip
// through its own canonical form, and parsing must be deterministic.
func FuzzParseHeaderChecks(f *testing.F) {
	// The shared corpus of real headers, when present, seeds the fuzzer in
	// addition to testdata/fuzz/FuzzParseHeaderChecks.
	paths, _ := filepath.Glob(filepath.Join("../../shared/testdata/kernel-headers", "*", "capability.h"))
	for _, p := range paths {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("#define CAP_CHOWN 0\n#define CAP_KILL 5\n#define CAP_LAST_CAP CAP_KILL\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		const file = "fuzz/capability.h"
		h, err := ParseHeader(file, src)
		if err != nil {
			checkHeaderError(t, file, src, h, err)
			return
		}
		checkHeader(t, src, h)
		again, err := ParseHeader(file, src)
		if err != nil || !reflect.DeepEqual(h, again) {
			t.Fatalf("second parse differs: %+v, %v; first %+v", again, err, h)
		}
		checkCanonicalRoundTrip(t, h)
	})
}

func checkHeaderError(t *testing.T, file string, src []byte, h *Header, err error) {
	t.Helper()
	if h != nil {
		t.Errorf("header %+v returned with error %v", h, err)
	}
	if !errors.Is(err, ErrInvalidHeader) {
		t.Fatalf("error %v does not wrap ErrInvalidHeader", err)
	}
	var he *HeaderError
	if !errors.As(err, &he) {
		t.Fatalf("error %v is not a *HeaderError", err)
	}
	if !strings.HasPrefix(err.Error(), file+":") {
		t.Errorf("error %q does not start with the file name", err)
	}
	if lines := bytes.Count(src, []byte("\n")) + 1; he.Line < 0 || he.Line > lines {
		t.Errorf("error %q is about line %d of a %d-line file", err, he.Line, lines)
	}
	if he.Msg == "" {
		t.Errorf("error %q gives no reason", err)
	}
}

// checkHeader checks a successfully parsed header against the parser's
// promises, written out independently of the parser's code.
func checkHeader(t *testing.T, src []byte, h *Header) {
	t.Helper()
	spliced := bytes.ReplaceAll(bytes.ReplaceAll(src, []byte("\\\r\n"), nil), []byte("\\\n"), nil)
	if len(h.Capabilities) == 0 {
		t.Fatalf("header with no capabilities: %+v", h)
	}
	if h.Aliases == nil || h.Warnings == nil {
		t.Errorf("nil aliases or warnings: %+v", h)
	}
	lines := bytes.Count(src, []byte("\n")) + 1
	byName := make(map[string]int)
	seenValue := make(map[int]string)
	for i, c := range h.Capabilities {
		if !wellFormedCapName(c.Name) {
			t.Errorf("capability %q: not CAP_ and upper-case letters, digits and '_'", c.Name)
		}
		if c.Name == lastCapName {
			t.Errorf("%s listed as a capability", lastCapName)
		}
		if c.Value < 0 || c.Value > 63 {
			t.Errorf("%s = %d, outside 0..63", c.Name, c.Value)
		}
		if _, dup := byName[c.Name]; dup {
			t.Errorf("%s listed twice", c.Name)
		}
		if other, dup := seenValue[c.Value]; dup {
			t.Errorf("%s and %s both %d", other, c.Name, c.Value)
		}
		if i > 0 && c.Value <= h.Capabilities[i-1].Value {
			t.Errorf("%s (%d) after %s (%d): not ascending", c.Name, c.Value, h.Capabilities[i-1].Name, h.Capabilities[i-1].Value)
		}
		if c.Line < 1 || c.Line > lines {
			t.Errorf("%s on line %d of a %d-line file", c.Name, c.Line, lines)
		}
		// Line splicing (backslash-newline) happens before C sees names,
		// so a name may be split across lines in the file.
		if !bytes.Contains(spliced, []byte(c.Name)) {
			t.Errorf("%s does not occur in the source", c.Name)
		}
		byName[c.Name], seenValue[c.Value] = c.Value, c.Name
	}
	if largest := h.Capabilities[len(h.Capabilities)-1].Value; h.Last != largest {
		t.Errorf("Last = %d, largest value %d", h.Last, largest)
	}
	for alias, target := range h.Aliases {
		if _, ok := byName[target]; !ok {
			t.Errorf("alias %s -> %s: not a defined capability", alias, target)
		}
		if _, ok := byName[alias]; ok {
			t.Errorf("alias %s is also a capability", alias)
		}
		if !strings.HasPrefix(alias, "CAP_") {
			t.Errorf("alias %q is not a CAP_ name", alias)
		}
	}
	if target, ok := h.Aliases[lastCapName]; ok && byName[target] != h.Last {
		t.Errorf("%s -> %s (%d), Last %d", lastCapName, target, byName[target], h.Last)
	}
}

// checkCanonicalRoundTrip writes h as the plainest header that defines the
// same capabilities and checks that it parses to the same table.
func checkCanonicalRoundTrip(t *testing.T, h *Header) {
	t.Helper()
	var b bytes.Buffer
	for _, c := range h.Capabilities {
		fmt.Fprintf(&b, "#define %s %d\n", c.Name, c.Value)
	}
	fmt.Fprintf(&b, "#define %s %s\n", lastCapName, h.Capabilities[len(h.Capabilities)-1].Name)
	back, err := ParseHeader("canonical.h", b.Bytes())
	if err != nil {
		t.Fatalf("canonical form of a valid header fails: %v\n%s", err, b.Bytes())
	}
	if len(back.Capabilities) != len(h.Capabilities) || back.Last != h.Last {
		t.Fatalf("canonical form parses to %+v, want the capabilities of %+v", back, h)
	}
	for i, c := range back.Capabilities {
		if c.Name != h.Capabilities[i].Name || c.Value != h.Capabilities[i].Value {
			t.Fatalf("canonical form: capability %d is %s=%d, want %s=%d", i, c.Name, c.Value, h.Capabilities[i].Name, h.Capabilities[i].Value)
		}
	}
}

// wellFormedCapName reports whether name is "CAP_" followed by at least one
// upper-case ASCII letter, digit or underscore.
func wellFormedCapName(name string) bool {
	rest, ok := strings.CutPrefix(name, "CAP_")
	if !ok || rest == "" {
		return false
	}
	return strings.Trim(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == ""
}
