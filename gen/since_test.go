package gen

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// manExcerpt is roff in the shape capabilities(7) uses, written for this test.
const manExcerpt = `.SS Capabilities list
.TP
.BR CAP_AUDIT_READ " (since Linux 3.16)"
Text that mentions
.B CAP_SYS_ADMIN
without being its entry.
.TP
.B CAP_CHOWN
More text.
.TP
.BR CAP_BPF " (since Linux 5.8)"
.TP
.I Bounding
`

func TestParseManPage(t *testing.T) {
	got, err := ParseManPage(strings.NewReader(manExcerpt))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"CAP_AUDIT_READ": "3.16", "CAP_CHOWN": "2.2", "CAP_BPF": "5.8"}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for name, since := range want {
		if got[name] != since {
			t.Errorf("%s: since %q, want %q", name, got[name], since)
		}
	}
	if _, err := ParseManPage(strings.NewReader("no entries\n")); err == nil {
		t.Error("a page without entries parsed")
	}
}

// TestParseSystemManPage reads Debian's capabilities(7) and checks the
// releases the kernel's history gives for the capabilities added after 2.2.
func TestParseSystemManPage(t *testing.T) {
	f, err := os.Open("/usr/share/man/man7/capabilities.7.gz")
	if err != nil {
		t.Skip("capabilities(7) not installed (Debian package manpages):", err)
	}
	defer f.Close()
	got, err := ParseManPage(f)
	if err != nil {
		t.Fatal(err)
	}
	for name, since := range map[string]string{
		"CAP_CHOWN": "2.2", "CAP_LEASE": "2.4", "CAP_AUDIT_WRITE": "2.6.11", "CAP_SETFCAP": "2.6.24",
		"CAP_MAC_ADMIN": "2.6.25", "CAP_SYSLOG": "2.6.37", "CAP_WAKE_ALARM": "3.0", "CAP_BLOCK_SUSPEND": "3.5",
		"CAP_AUDIT_READ": "3.16", "CAP_PERFMON": "5.8", "CAP_BPF": "5.8", "CAP_CHECKPOINT_RESTORE": "5.9",
	} {
		if got[name] != since {
			t.Errorf("%s: since %q, want %q", name, got[name], since)
		}
	}
}

func header(file, version string, caps ...Capability) *Header {
	return &Header{File: file, Version: version, Capabilities: caps}
}

func TestMerge(t *testing.T) {
	committed := &Table{Kernel: "5.9", Capabilities: []Entry{
		{Name: "CAP_CHOWN", Value: 0, Since: "2.2"},
		{Name: "CAP_CHECKPOINT_RESTORE", Value: 40, Since: "5.9"},
	}}
	newer := header("new.h", "6.20.3",
		Capability{Name: "CAP_CHOWN", Value: 0},
		Capability{Name: "CAP_CHECKPOINT_RESTORE", Value: 40},
		Capability{Name: "CAP_NEW", Value: 41})
	got, warnings, err := Merge(Sources{Committed: committed, Headers: []*Header{newer}})
	if err != nil {
		t.Fatal(err)
	}
	want := &Table{Kernel: "6.20.3", Capabilities: []Entry{
		{Name: "CAP_CHOWN", Value: 0, Since: "2.2"},
		{Name: "CAP_CHECKPOINT_RESTORE", Value: 40, Since: "5.9"},
		{Name: "CAP_NEW", Value: 41, Since: "6.20"},
	}}
	if string(got.MarshalIndent()) != string(want.MarshalIndent()) {
		t.Errorf("got\n%s\nwant\n%s", got.MarshalIndent(), want.MarshalIndent())
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
}

func TestMergeKeepsHistoryAndWarnsWithoutSince(t *testing.T) {
	committed := &Table{Kernel: "6.1", Capabilities: []Entry{{Name: "CAP_CHOWN", Value: 0, Since: "2.2"}}}
	unversioned := header("vendor.h", "", Capability{Name: "CAP_BLOCK_ADMIN", Value: 61})
	got, warnings, err := Merge(Sources{Committed: committed, Headers: []*Header{unversioned}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Capabilities) != 2 || got.Kernel != "6.1" {
		t.Errorf("got %+v, want CAP_CHOWN kept beside CAP_BLOCK_ADMIN and kernel 6.1", got)
	}
	if e, ok := got.Lookup("CAP_BLOCK_ADMIN"); !ok || e.Value != 61 || e.Since != "" {
		t.Errorf("CAP_BLOCK_ADMIN = %+v, %v; want value 61 with no since-version", e, ok)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "CAP_BLOCK_ADMIN") {
		t.Errorf("warnings = %q, want one about CAP_BLOCK_ADMIN", warnings)
	}
}

func TestMergeConflicts(t *testing.T) {
	committed := &Table{Kernel: "5.9", Capabilities: []Entry{
		{Name: "CAP_BPF", Value: 39, Since: "5.8"},
	}}
	for _, tc := range []struct {
		name string
		src  Sources
		want string
	}{
		{"value differs", Sources{Committed: committed, Headers: []*Header{header("a.h", "6.1", Capability{Name: "CAP_BPF", Value: 38})}},
			"CAP_BPF is 39 in the committed table but 38 in a.h (Linux 6.1)"},
		{"two names one value", Sources{Committed: committed, Headers: []*Header{header("a.h", "", Capability{Name: "CAP_OTHER", Value: 39})}},
			"39 is CAP_BPF in the committed table but CAP_OTHER in a.h"},
		{"since differs", Sources{Committed: committed, ManPage: map[string]string{"CAP_BPF": "5.9"}, ManPageName: "capabilities(7)"},
			"CAP_BPF is since Linux 5.8 in the committed table but since Linux 5.9 in capabilities(7)"},
		{"header older than since", Sources{ManPage: map[string]string{"CAP_SYSLOG": "2.6.37"}, ManPageName: "capabilities(7)",
			Headers: []*Header{header("msm.h", "2.6.35.11", Capability{Name: "CAP_SYSLOG", Value: 34})}},
			"CAP_SYSLOG is defined by msm.h (Linux 2.6.35.11) but capabilities(7) says since Linux 2.6.37"},
		{"headers disagree", Sources{Headers: []*Header{
			header("a.h", "6.1", Capability{Name: "CAP_X", Value: 41}),
			header("b.h", "6.2", Capability{Name: "CAP_X", Value: 42})}},
			"CAP_X is 41 in a.h (Linux 6.1) but 42 in b.h (Linux 6.2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Merge(tc.src)
			if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrConflict saying %q", err, tc.want)
			}
		})
	}
}
