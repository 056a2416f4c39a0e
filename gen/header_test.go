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

// caps builds the expected capabilities: name, value, line triples.
func caps(triples ...any) []Capability {
	var out []Capability
	for i := 0; i < len(triples); i += 3 {
		out = append(out, Capability{Name: triples[i].(string), Value: triples[i+1].(int), Line: triples[i+2].(int)})
	}
	return out
}

func TestParseHeaderGood(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		want     []Capability
		last     int
		aliases  map[string]string
		warnings []string
	}{{
		name: "uapi style",
		src: `/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
#ifndef _LINUX_CAPABILITY_H
#define _LINUX_CAPABILITY_H
#define _LINUX_CAPABILITY_VERSION_3  0x20080522
/* Allow everything; the old value was
#define CAP_FAKE 9
   and CAP_SYS_ADMIN stays */
#define CAP_CHOWN            0
#define CAP_DAC_OVERRIDE	1  
# define CAP_KILL 2 /* a comment */
#define CAP_LAST_CAP         CAP_KILL
#define cap_valid(x) ((x) >= 0 && (x) <= CAP_LAST_CAP)
#define CAP_TO_INDEX(x)     ((x) >> 5)
#define CAP_TO_MASK(x)      (1U << ((x) & 31))
#endif
`,
		want:     caps("CAP_CHOWN", 0, 8, "CAP_DAC_OVERRIDE", 1, 9, "CAP_KILL", 2, 10),
		last:     2,
		aliases:  map[string]string{"CAP_LAST_CAP": "CAP_KILL"},
		warnings: []string{},
	}, {
		name: "pre-2.6.25 kernel section without CAP_LAST_CAP",
		src: `#define CAP_CHOWN 0
#define CAP_FS_MASK          0x1f
#define CAP_KILL 1
#ifdef __KERNEL__
#define CAP_FS_MASK2	(CAP_TO_MASK(CAP_CHOWN) |		\
			 CAP_TO_MASK(CAP_KILL))
#define CAP_EMPTY_SET       to_cap_t(0)
#define CAP_INIT_INH_SET    CAP_EMPTY_SET
static inline kernel_cap_t cap_combine(kernel_cap_t a, kernel_cap_t b)
{
	return a | b;
}
#define CAP_SETUID 2
#endif /* __KERNEL__ */
`,
		want:     caps("CAP_CHOWN", 0, 1, "CAP_KILL", 1, 3, "CAP_SETUID", 2, 13),
		last:     2,
		aliases:  map[string]string{},
		warnings: []string{"no CAP_LAST_CAP (as before Linux 2.6.25): the last capability is the largest, CAP_SETUID (2)"},
	}, {
		name: "continued macro body that looks like a define",
		src:  "#define CAP_A 0\n#define CAP_MASK (1 | \\\n#define CAP_B 1\n#define CAP_C 1\n",
		// "#define CAP_B 1" is the body of CAP_MASK, not a directive.
		want:     caps("CAP_A", 0, 1, "CAP_C", 1, 4),
		last:     1,
		aliases:  map[string]string{},
		warnings: []string{"no CAP_LAST_CAP (as before Linux 2.6.25): the last capability is the largest, CAP_C (1)"},
	}, {
		name: "line comments, literals, CRLF and a directive after a comment",
		src: "#define CAP_A 0 // CAP_A\r\n// #define CAP_B 7\r\n#define XATTR \"/*\"\r\n" +
			"#define CAP_B 1\r\n/* a comment\r\n over lines */ #define CAP_C 2\r\n#define CAP_LAST_CAP 2\r\n",
		want:     caps("CAP_A", 0, 1, "CAP_B", 1, 4, "CAP_C", 2, 6),
		last:     2,
		aliases:  map[string]string{"CAP_LAST_CAP": "CAP_C"},
		warnings: []string{},
	}, {
		name: "alias chains and a value split by a comment over lines",
		src: "#define CAP_A /* the\nfirst */ 0\n#define CAP_B 1\n#define CAP_X CAP_Y\n#define CAP_Y CAP_B\n" +
			"#define CAP_LAST_CAP CAP_X\n",
		want:     caps("CAP_A", 0, 1, "CAP_B", 1, 3),
		last:     1,
		aliases:  map[string]string{"CAP_LAST_CAP": "CAP_B", "CAP_X": "CAP_B", "CAP_Y": "CAP_B"},
		warnings: []string{},
	}, {
		name:    "gaps, as in a vendor fork",
		src:     "#define CAP_A 0\n#define CAP_B 2\n#define CAP_C 40\n#define CAP_D 61\n#define CAP_LAST_CAP CAP_D\n",
		want:    caps("CAP_A", 0, 1, "CAP_B", 2, 2, "CAP_C", 40, 3, "CAP_D", 61, 4),
		last:    61,
		aliases: map[string]string{"CAP_LAST_CAP": "CAP_D"},
		warnings: []string{
			"capability 1 is not defined",
			"capabilities 3..39 are not defined",
			"capabilities 41..60 are not defined",
		},
	}, {
		name:     "alias of a numeric CAP_LAST_CAP",
		src:      "#define CAP_A 0\n#define CAP_B 1\n#define CAP_LAST_CAP 1\n#define CAP_X CAP_LAST_CAP\n",
		want:     caps("CAP_A", 0, 1, "CAP_B", 1, 2),
		last:     1,
		aliases:  map[string]string{"CAP_LAST_CAP": "CAP_B", "CAP_X": "CAP_B"},
		warnings: []string{},
	}, {
		name:     "the same definition twice",
		src:      "#define CAP_A 0\n#define CAP_B 1\n#define CAP_A 0\n",
		want:     caps("CAP_A", 0, 1, "CAP_B", 1, 2),
		last:     1,
		aliases:  map[string]string{},
		warnings: []string{"CAP_A is defined twice with the same value 0, at lines 1 and 3", "no CAP_LAST_CAP (as before Linux 2.6.25): the last capability is the largest, CAP_B (1)"},
	}, {
		name: "OpenVZ-style aliases in the arms of a conditional",
		src: `#define CAP_NET_ADMIN 0
#define CAP_SYS_ADMIN 1
#define CAP_VE_ADMIN 2
#ifdef __KERNEL__
#ifdef CONFIG_VE
#define CAP_VE_NET_ADMIN     CAP_VE_ADMIN
#define CAP_VE_SYS_ADMIN     CAP_SYS_ADMIN
#else
#define CAP_VE_NET_ADMIN     CAP_NET_ADMIN
#define CAP_VE_SYS_ADMIN     CAP_SYS_ADMIN
#endif
#endif
#define CAP_LAST_CAP CAP_VE_ADMIN
`,
		want:     caps("CAP_NET_ADMIN", 0, 1, "CAP_SYS_ADMIN", 1, 2, "CAP_VE_ADMIN", 2, 3),
		last:     2,
		aliases:  map[string]string{"CAP_LAST_CAP": "CAP_VE_ADMIN", "CAP_VE_SYS_ADMIN": "CAP_SYS_ADMIN"},
		warnings: []string{"CAP_VE_NET_ADMIN names different capabilities under different preprocessor conditions (lines 6 and 9); not recorded as an alias"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeader("x.h", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			want := &Header{File: "x.h", Last: tt.last, Capabilities: tt.want, Aliases: tt.aliases, Warnings: tt.warnings}
			if !reflect.DeepEqual(h, want) {
				t.Errorf("got  %+v\nwant %+v", h, want)
			}
		})
	}
}

func TestParseHeaderBad(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // the whole message after "x.h"
	}{
		{"empty file", "", ": invalid capability header: empty file"},
		{"blank file", " \n\t\n", ": invalid capability header: empty file"},
		{"binary junk", "\x7fELF\x02\x01\x01\x00\x00\x00\n\x00", ":1: invalid capability header: NUL byte: binary data, not a C header"},
		{"junk without NUL", "\xff\xfe\x80 garbage }{ \x1b[0m\n", ": invalid capability header: no capability defined (no #define CAP_<NAME> <decimal>)"},
		{"1 MiB line", "#define CAP_A 0\n" + strings.Repeat("x", 1<<20) + "\n", ":2: invalid capability header: line is 1048576 bytes long, more than the 65536-byte limit"},
		{"no capability", "#define CAP_TO_MASK(x) (1 << (x))\n#define CAP_FS_MASK 0x1f\n#define CAP_EMPTY_SET to_cap_t(0)\n/*\n#define CAP_CHOWN 0\n*/\n",
			": invalid capability header: no capability defined (no #define CAP_<NAME> <decimal>)"},
		{"name twice, different values", "#define CAP_A 0\n#define CAP_B 1\n#define CAP_A 2\n",
			`:3: invalid capability header: CAP_A is defined as "2", but as "0" at x.h:1`},
		{"alias and number", "#define CAP_A 0\n#define CAP_B CAP_A\n#define CAP_B 1\n",
			`:3: invalid capability header: CAP_B is defined as "1", but as "CAP_A" at x.h:2`},
		{"numbers in the arms of a conditional", "#define CAP_A 0\n#ifdef X\n#define CAP_B 1\n#else\n#define CAP_B 2\n#endif\n",
			`:5: invalid capability header: CAP_B is defined as "2", but as "1" at x.h:3`},
		{"two names, one value", "#define CAP_AUDIT_WRITE 29\n\n#define CAP_SETVEID\t     29\n",
			":3: invalid capability header: CAP_SETVEID and CAP_AUDIT_WRITE (x.h:1) both have value 29"},
		{"value 64", "#define CAP_A 0\n#define CAP_B 64\n", ":2: invalid capability header: CAP_B: value 64 is outside 0..63"},
		{"value 99", "#define CAP_B 99\n", ":1: invalid capability header: CAP_B: value 99 is outside 0..63"},
		{"value that would overflow", "#define CAP_B 18446744073709551617\n",
			`:1: invalid capability header: CAP_B: value "18446744073709551617" is outside 0..63`},
		{"long value", "#define CAP_B " + strings.Repeat("9", 50000) + "\n",
			`:1: invalid capability header: CAP_B: value "9999999999999999999999999999999999999999"... (50000 bytes) is outside 0..63`},
		{"octal value", "#define CAP_A 0\n#define CAP_B 010\n", `:2: invalid capability header: CAP_B: value "010" has a leading zero (octal in C)`},
		{"lower-case capability", "#define CAP_Foo 3\n", `:1: invalid capability header: "CAP_Foo": a capability name is CAP_ and upper-case letters, digits and '_', not all digits, at most 64 bytes`},
		{"CAP_LAST_CAP not the largest", "#define CAP_A 0\n#define CAP_B 1\n#define CAP_LAST_CAP CAP_A\n",
			":3: invalid capability header: CAP_LAST_CAP is CAP_A (0), but the largest capability is CAP_B (1) at x.h:2"},
		{"CAP_LAST_CAP a smaller number", "#define CAP_A 0\n#define CAP_B 1\n#define CAP_LAST_CAP 0\n",
			":3: invalid capability header: CAP_LAST_CAP is CAP_A (0), but the largest capability is CAP_B (1) at x.h:2"},
		{"CAP_LAST_CAP undefined", "#define CAP_A 0\n#define CAP_LAST_CAP CAP_B\n",
			":2: invalid capability header: CAP_LAST_CAP names undefined capability CAP_B"},
		{"CAP_LAST_CAP undefined number", "#define CAP_A 0\n#define CAP_LAST_CAP 1\n",
			":2: invalid capability header: CAP_LAST_CAP names undefined capability 1"},
		{"CAP_LAST_CAP not a capability", "#define CAP_A 0\n#define CAP_EMPTY_SET to_cap_t(0)\n#define CAP_LAST_CAP CAP_EMPTY_SET\n",
			`:3: invalid capability header: CAP_LAST_CAP is "CAP_EMPTY_SET", which does not resolve to one capability`},
		{"CAP_LAST_CAP an expression", "#define CAP_A 0\n#define CAP_LAST_CAP (CAP_A)\n",
			`:2: invalid capability header: CAP_LAST_CAP is "(CAP_A)", which does not resolve to one capability`},
		{"alias of undefined", "#define CAP_A 0\n#ifdef CONFIG_VE\n#define CAP_VE_ADMIN CAP_NOPE\n#endif\n",
			":3: invalid capability header: CAP_VE_ADMIN names undefined capability CAP_NOPE"},
		{"alias cycle", "#define CAP_A 0\n#define CAP_X CAP_Y\n#define CAP_Y CAP_X\n",
			":3: invalid capability header: CAP_Y: alias chain longer than 16 (a cycle?)"},
		{"conflict start", "#define CAP_A 0\n<<<<<<< HEAD\n#define CAP_B 1\n",
			`:2: invalid capability header: merge conflict marker "<<<<<<< HEAD"`},
		{"conflict middle", "#define CAP_A 0\n=======\n#define CAP_B 1\n",
			`:2: invalid capability header: merge conflict marker "======="`},
		{"conflict end", "#define CAP_A 0\n>>>>>>> v3.18\n",
			`:2: invalid capability header: merge conflict marker ">>>>>>> v3.18"`},
		{"conflict base", "#define CAP_A 0\n||||||| merged common ancestors\n",
			`:2: invalid capability header: merge conflict marker "||||||| merged common ancestors"`},
		{"conflict marker in a comment", "/*\n=======\n*/\n#define CAP_A 0\n",
			`:2: invalid capability header: merge conflict marker "======="`},
		{"unterminated comment", "#define CAP_A 0\n/* the rest\n#define CAP_B 1\n",
			":2: invalid capability header: comment is not terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeader("x.h", []byte(tt.src))
			if !errors.Is(err, ErrInvalidHeader) {
				t.Fatalf("got %+v, %v; want an error wrapping ErrInvalidHeader", h, err)
			}
			if got, want := err.Error(), "x.h"+tt.want; got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// TestParseHeaderAliasArms resolves aliases that are each defined in four
// arms of a conditional, all arms naming one capability in the end, 14
// levels deep. Without memoised resolution this takes 4^14 steps and the
// test times out.
func TestParseHeaderAliasArms(t *testing.T) {
	const arms, levels = 4, 14
	var b strings.Builder
	b.WriteString("#define CAP_A 0\n")
	for j := range arms {
		fmt.Fprintf(&b, "#define CAP_L%d_%d CAP_A\n", levels, j)
	}
	for i := levels - 1; i >= 0; i-- {
		for j := range arms {
			b.WriteString("#if X == 0\n")
			for k := range arms {
				if k > 0 {
					fmt.Fprintf(&b, "#elif X == %d\n", k)
				}
				fmt.Fprintf(&b, "#define CAP_L%d_%d CAP_L%d_%d\n", i, j, i+1, k)
			}
			b.WriteString("#endif\n")
		}
	}
	h, err := ParseHeader("x.h", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Aliases) != arms*(levels+1) || h.Aliases["CAP_L0_0"] != "CAP_A" || len(h.Warnings) != 1 {
		t.Errorf("got %d aliases, CAP_L0_0 = %q, warnings %q; want %d, CAP_A and only the CAP_LAST_CAP warning",
			len(h.Aliases), h.Aliases["CAP_L0_0"], h.Warnings, arms*(levels+1))
	}
}

func TestParseHeaderNotConflictMarkers(t *testing.T) {
	// Seven '=' followed by more text, or eight of them, are no marker.
	src := "/*\n======== eight\n=======x\n<<<<<<<<\n*/\n#define CAP_A 0\n"
	if _, err := ParseHeader("x.h", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

func TestParseHeaderTooLarge(t *testing.T) {
	src := bytes.Repeat([]byte("/* padding */\n"), MaxHeaderSize/14+1)
	_, err := ParseHeader("x.h", src)
	if !errors.Is(err, ErrInvalidHeader) || !strings.Contains(err.Error(), "larger than the 4194304-byte limit") {
		t.Errorf("got %v, want the size limit", err)
	}

	path := filepath.Join(t.TempDir(), "capability.h")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadHeader(path, "")
	if !errors.Is(err, ErrInvalidHeader) || !strings.Contains(err.Error(), path+": invalid capability header: larger than") {
		t.Errorf("ReadHeader: got %v, want the size limit", err)
	}
}

func TestHeaderErrorFields(t *testing.T) {
	_, err := ParseHeader("x.h", []byte("#define CAP_A 1\n#define CAP_B 1\n"))
	var he *HeaderError
	if !errors.As(err, &he) {
		t.Fatalf("got %v, want a *HeaderError", err)
	}
	if he.File != "x.h" || he.Line != 2 || !strings.Contains(he.Msg, "x.h:1") {
		t.Errorf("got %+v", he)
	}
}

func TestReadHeader(t *testing.T) {
	const header = "#define CAP_CHOWN 0\n#define CAP_KILL 1\n#define CAP_LAST_CAP CAP_KILL\n"
	write := func(t *testing.T, dir, name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name     string
		versionH string // "" for none
		version  string // given by hand
		want     string
		wantErr  error
	}{
		{name: "no version.h", want: ""},
		{name: "version.h", versionH: "#define LINUX_VERSION_CODE 393659\n", want: "6.1.187"},
		{name: "given overrides version.h", versionH: "#define LINUX_VERSION_CODE 393659\n", version: "6.1", want: "6.1"},
		{name: "given, four numbers", version: "2.6.18.8", want: "2.6.18.8"},
		{name: "bad version.h", versionH: "/* nothing */\n", wantErr: ErrInvalidVersion},
		{name: "bad given version", version: "6.x", wantErr: ErrInvalidVersion},
		{name: "given version with a suffix", version: "6.1-rc1", wantErr: ErrInvalidVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := write(t, dir, "capability.h", header)
			if tt.versionH != "" {
				write(t, dir, "version.h", tt.versionH)
			}
			h, err := ReadHeader(path, tt.version)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("got %v, want an error wrapping %v that names the file", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.File != path || h.Version != tt.want || h.Last != 1 || len(h.Capabilities) != 2 {
				t.Errorf("got %+v, want file %s, version %q, last 1, 2 capabilities", h, path, tt.want)
			}
		})
	}
	if _, err := ReadHeader(filepath.Join(t.TempDir(), "missing.h"), ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want os.ErrNotExist", err)
	}
}

func BenchmarkParseHeader(b *testing.B) {
	src, err := os.ReadFile(filepath.Join(corpusRoot, "6.1.187-debian", "capability.h"))
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHeader("capability.h", src); err != nil {
			b.Fatal(err)
		}
	}
}
