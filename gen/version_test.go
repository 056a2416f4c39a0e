package gen

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionFromVersionH(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    string
		wantErr string // part of the error; "" for none
	}{
		{name: "code only", src: "#define LINUX_VERSION_CODE 393659\n#define KERNEL_VERSION(a,b,c) (((a) << 16) + ((b) << 8) + (c))\n", want: "6.1.187"},
		{name: "2.6 code", src: "#define UTS_RELEASE \"2.6.18\"\n#define LINUX_VERSION_CODE 132626\n", want: "2.6.18"},
		{
			name: "Linux 5.10 and later",
			src: "#define LINUX_VERSION_CODE 393659\n#define KERNEL_VERSION(a,b,c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))\n" +
				"#define LINUX_VERSION_MAJOR 6\n#define LINUX_VERSION_PATCHLEVEL 1\n#define LINUX_VERSION_SUBLEVEL 187\n",
			want: "6.1.187",
		},
		{
			name: "sublevel above 255 capped in the code",
			src:  "#define LINUX_VERSION_CODE 264703\n#define LINUX_VERSION_MAJOR 4\n#define LINUX_VERSION_PATCHLEVEL 9\n#define LINUX_VERSION_SUBLEVEL 337\n",
			want: "4.9.337",
		},
		{name: "comments and spacing", src: "/* #define LINUX_VERSION_CODE 1 */\n#  define\tLINUX_VERSION_CODE\t393659 // 6.1.187\n", want: "6.1.187"},
		{name: "RHEL extras ignored", src: "#define LINUX_VERSION_CODE 199168\n#define RHEL_MAJOR 7\n#define RHEL_RELEASE \"862.6.3\"\n", want: "3.10.0"},
		{
			name:    "code and parts disagree",
			src:     "#define LINUX_VERSION_CODE 393659\n#define LINUX_VERSION_MAJOR 6\n#define LINUX_VERSION_PATCHLEVEL 1\n#define LINUX_VERSION_SUBLEVEL 192\n",
			wantErr: "LINUX_VERSION_CODE 393659 (6.1.187) disagrees with LINUX_VERSION_MAJOR/PATCHLEVEL/SUBLEVEL 6.1.192",
		},
		{name: "parts without sublevel", src: "#define LINUX_VERSION_MAJOR 6\n#define LINUX_VERSION_PATCHLEVEL 1\n", wantErr: "must be defined together"},
		{name: "nothing", src: "/* empty */\n", wantErr: "no LINUX_VERSION_CODE"},
		{name: "empty", src: "", wantErr: "no LINUX_VERSION_CODE"},
		{name: "hex code", src: "#define LINUX_VERSION_CODE 0x600bb\n", wantErr: `line 1: LINUX_VERSION_CODE: "0x600bb" is not a decimal number`},
		{name: "expression", src: "#define LINUX_VERSION_CODE KERNEL_VERSION(6, 1, 0)\n", wantErr: "line 1: LINUX_VERSION_CODE is not a decimal number"},
		{name: "huge code", src: "#define LINUX_VERSION_CODE 99999999999999999999\n", wantErr: "is too large"},
		{name: "code out of range", src: "#define LINUX_VERSION_CODE 5\n", wantErr: "LINUX_VERSION_CODE 5 is not a version code"},
		{name: "defined twice", src: "#define LINUX_VERSION_CODE 393659\n#define LINUX_VERSION_CODE 393664\n", wantErr: "line 2: LINUX_VERSION_CODE is defined twice, as 393659 and 393664"},
		{name: "unterminated comment", src: "#define LINUX_VERSION_CODE 393659\n/*\n", wantErr: "line 2: comment is not terminated"},
		{name: "sublevel too large for a table", src: "#define LINUX_VERSION_MAJOR 6\n#define LINUX_VERSION_PATCHLEVEL 1\n#define LINUX_VERSION_SUBLEVEL 1234567\n", wantErr: `line 3: LINUX_VERSION_SUBLEVEL: "1234567" is too large`},
		{name: "major above 255", src: "#define LINUX_VERSION_MAJOR 256\n#define LINUX_VERSION_PATCHLEVEL 1\n#define LINUX_VERSION_SUBLEVEL 0\n", wantErr: "at most 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VersionFromVersionH([]byte(tt.src))
			checkVersionResult(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestVersionFromMakefile(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    string
		wantErr string
	}{
		{name: "6.6-rc5", src: "# SPDX-License-Identifier: GPL-2.0\nVERSION = 6\nPATCHLEVEL = 6\nSUBLEVEL = 0\nEXTRAVERSION = -rc5\nNAME = Hurr durr I'ma ninja sloth\n", want: "6.6.0"},
		{name: "2.6.9 RHEL", src: "VERSION = 2\nPATCHLEVEL = 6\nSUBLEVEL = 9\nEXTRAVERSION = -prep\nRHEL_VERSION = 4\nRHEL_UPDATE = 7\nKERNELRELEASE=$(VERSION).$(PATCHLEVEL)\n", want: "2.6.9"},
		{name: "empty sublevel", src: "VERSION = 3\nPATCHLEVEL = 0\nSUBLEVEL =\n", want: "3.0.0"},
		{name: "no sublevel, CRLF, comment", src: "VERSION = 2\r\nPATCHLEVEL = 4 # stable\r\n", want: "2.4.0"},
		{name: "recipe lines ignored", src: "VERSION = 5\nPATCHLEVEL = 8\nSUBLEVEL = 1\nfoo:\n\tVERSION = 9 sh x\n", want: "5.8.1"},
		{
			name:    "merge conflict",
			src:     "<<<<<<< HEAD\nVERSION = 3\nPATCHLEVEL = 10\nSUBLEVEL = 108\n=======\nVERSION = 3\nPATCHLEVEL = 18\nSUBLEVEL = 0\n>>>>>>> v3.18\n",
			wantErr: `line 1: merge conflict marker "<<<<<<< HEAD"`,
		},
		{name: "set twice", src: "VERSION = 3\nPATCHLEVEL = 10\nPATCHLEVEL = 18\n", wantErr: "line 3: PATCHLEVEL is set twice, to 10 and 18"},
		{name: "no version", src: "all:\n\techo\n", wantErr: "no VERSION = <number> in Makefile"},
		{name: "no patchlevel", src: "VERSION = 6\n", wantErr: "no PATCHLEVEL = <number> in Makefile"},
		{name: "not a number", src: "VERSION = six\nPATCHLEVEL = 1\n", wantErr: `line 1: VERSION: "six" is not a decimal number`},
		{name: "empty", src: "", wantErr: "no VERSION"},
		{name: "sublevel too large for a table", src: "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 1234567\n", wantErr: `line 3: SUBLEVEL: "1234567" is too large`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VersionFromMakefile([]byte(tt.src))
			checkVersionResult(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func checkVersionResult(t *testing.T, got string, err error, want, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if !errors.Is(err, ErrInvalidVersion) || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("got %q, %v; want an error wrapping ErrInvalidVersion with %q", got, err, wantErr)
		}
		return
	}
	if err != nil || got != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
}

func TestKernelTreeHeader(t *testing.T) {
	const makefile = "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 187\n"
	tests := []struct {
		name    string
		files   []string // files to create, besides the Makefile
		noMake  bool
		want    string // header path relative to the tree
		wantErr error
	}{
		{name: "uapi", files: []string{"include/uapi/linux/capability.h", "include/linux/capability.h"}, want: "include/uapi/linux/capability.h"},
		{name: "before 3.7", files: []string{"include/linux/capability.h"}, want: "include/linux/capability.h"},
		{name: "no header", files: []string{"include/linux/types.h"}, wantErr: fs.ErrNotExist},
		{name: "no Makefile", files: []string{"include/linux/capability.h"}, noMake: true, wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("#define CAP_CHOWN 0\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.noMake {
				if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte(makefile), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			path, version, err := KernelTreeHeader(dir)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("got %q, %q, %v; want an error wrapping %v naming the tree", path, version, err, tt.wantErr)
				}
				return
			}
			if err != nil || path != filepath.Join(dir, tt.want) || version != "6.1.187" {
				t.Fatalf("got %q, %q, %v; want %s, 6.1.187", path, version, err, tt.want)
			}
		})
	}
}

func TestKernelTreeHeaderBadMakefile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "include", "linux"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"include/linux/capability.h": "#define CAP_CHOWN 0\n", "Makefile": "=======\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := KernelTreeHeader(dir)
	if !errors.Is(err, ErrInvalidVersion) || !strings.Contains(err.Error(), filepath.Join(dir, "Makefile")+": ") {
		t.Fatalf("got %v, want an ErrInvalidVersion naming the Makefile", err)
	}
}

func TestCheckVersion(t *testing.T) {
	for _, v := range []string{"6.1", "6.1.187", "2.6.18.8", "5.8.0"} {
		if err := checkVersion(v); err != nil {
			t.Errorf("checkVersion(%q) = %v", v, err)
		}
	}
	for _, v := range []string{"", "6", "6.", ".1", "6.x", "v6.1", "6.1-rc5", "6.01", "6.1.2.3.4", "6 .1", "+6.1", "99999999999.1", "1234567.1"} {
		if err := checkVersion(v); !errors.Is(err, ErrInvalidVersion) {
			t.Errorf("checkVersion(%q) = %v, want ErrInvalidVersion", v, err)
		}
	}
}
