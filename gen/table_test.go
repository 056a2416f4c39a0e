package gen

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeTableRoundTrip(t *testing.T) {
	want := &Table{Kernel: "6.1.187", Capabilities: []Entry{
		{Name: "CAP_CHOWN", Value: 0, Since: "2.2"},
		{Name: "CAP_BPF", Value: 39, Since: "5.8"},
		{Name: "CAP_VENDOR", Value: 61, Since: ""},
	}}
	got, err := DecodeTable("t.json", want.MarshalIndent())
	if err != nil {
		t.Fatal(err)
	}
	if string(got.MarshalIndent()) != string(want.MarshalIndent()) {
		t.Errorf("round trip changed the table:\n%s\nwant\n%s", got.MarshalIndent(), want.MarshalIndent())
	}
}

func TestDecodeTableErrors(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"not json", `{`, "unexpected EOF"},
		{"unknown field", `{"kernel":"6.1","capabilities":[],"extra":1}`, `unknown field "extra"`},
		{"bad name", `{"kernel":"6.1","capabilities":[{"name":"CHOWN","value":0,"since":""}]}`, `"CHOWN" is not a capability name`},
		{"lower-case name", `{"kernel":"6.1","capabilities":[{"name":"CAP_chown","value":0,"since":""}]}`, `"CAP_chown" is not a capability name`},
		{"all-digit name", `{"kernel":"6.1","capabilities":[{"name":"CAP_123","value":45,"since":""}]}`, `"CAP_123" is not a capability name`},
		{"name over 64 bytes", `{"kernel":"6.1","capabilities":[{"name":"CAP_` + strings.Repeat("X", 61) + `","value":1,"since":""}]}`, `is not a capability name`},
		{"duplicate name", `{"kernel":"6.1","capabilities":[{"name":"CAP_A","value":0,"since":""},{"name":"CAP_A","value":1,"since":""}]}`, "CAP_A appears twice"},
		{"value 64", `{"kernel":"6.1","capabilities":[{"name":"CAP_A","value":64,"since":""}]}`, "value 64 outside 0..63"},
		{"negative", `{"kernel":"6.1","capabilities":[{"name":"CAP_A","value":-1,"since":""}]}`, "value -1 outside 0..63"},
		{"unsorted", `{"kernel":"6.1","capabilities":[{"name":"CAP_A","value":2,"since":""},{"name":"CAP_B","value":1,"since":""}]}`, "values must ascend"},
		{"same value", `{"kernel":"6.1","capabilities":[{"name":"CAP_A","value":1,"since":""},{"name":"CAP_B","value":1,"since":""}]}`, "values must ascend"},
		{"bad since", `{"kernel":"6.1","capabilities":[{"name":"CAP_A","value":1,"since":"5.x"}]}`, `since "5.x"`},
		{"bad kernel", `{"kernel":"v6","capabilities":[]}`, `kernel version "v6"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeTable("t.json", []byte(tc.json))
			if !errors.Is(err, ErrInvalidTableFile) {
				t.Fatalf("err = %v, want ErrInvalidTableFile", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "t.json: ") {
				t.Errorf("err = %q, want it to name t.json and say %q", err, tc.want)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		cmp  int
	}{
		{"2.6.9", "2.6.25", -1},
		{"3.0", "3.0.0", 0},
		{"5.10", "5.9", 1},
		{"6.1.187", "6.1", 1},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.cmp {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.cmp)
		}
		if got := compareVersions(tc.b, tc.a); got != -tc.cmp {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.cmp)
		}
	}
	for v, want := range map[string]string{"6.1.187": "6.1", "2.6.35.11": "2.6.35", "2.6.9": "2.6.9", "5.8": "5.8", "3.10.0": "3.10"} {
		if got := release(v); got != want {
			t.Errorf("release(%q) = %q, want %q", v, got, want)
		}
	}
	for _, bad := range []string{"", "6.", ".1", "6..1", "v6", "6.01", "6.1-rc1", "1234567.1"} {
		if validVersion(bad) {
			t.Errorf("validVersion(%q) = true", bad)
		}
	}
}

// TestNamesCapnamesRejects checks that the generator refuses, in a header
// and in a table, the names capnames.NewTable refuses, so that it can never
// write a table package that panics when it loads.
func TestNamesCapnamesRejects(t *testing.T) {
	for _, name := range []string{"CAP_123", "CAP_" + strings.Repeat("X", 61)} {
		src := "#define CAP_CHOWN 0\n#define " + name + " 45\n"
		if _, err := ParseHeader("bad.h", []byte(src)); !errors.Is(err, ErrInvalidHeader) || !strings.Contains(err.Error(), "bad.h:2") {
			t.Errorf("%s: err = %v, want ErrInvalidHeader at bad.h:2", name, err)
		}
		table := &Table{Capabilities: []Entry{{Name: name, Value: 45}}}
		if _, err := EmitGo(table, CapnamesPath, "capnames"); !errors.Is(err, ErrInvalidTableFile) {
			t.Errorf("%s: EmitGo err = %v, want ErrInvalidTableFile", name, err)
		}
	}
	long := "CAP_" + strings.Repeat("X", 60) // 64 bytes: still a name
	if _, err := ParseHeader("ok.h", []byte("#define "+long+" 1\n")); err != nil {
		t.Errorf("64-byte name: %v", err)
	}
}
