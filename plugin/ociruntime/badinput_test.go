package ociruntime

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
)

// badEnv61 is Linux 6.1 with a bounding set without CAP_SYS_RESOURCE.
var badEnv61 = plugin.Env{KernelLast: 40, Bounding: capnames.UpTo(40).Minus(capnames.SetOf(capnames.CAP_SYS_RESOURCE))}

// TestBadInputFeatures feeds the probe's parser what broken runtimes print
// for "features": the runtime becomes unknown, with a reason that says
// what was wrong, and an emission for it uses the table's names only.
func TestBadInputFeatures(t *testing.T) {
	tests := []struct {
		name, stdout, reason string
	}{
		{"crun 1.8.1 message", "unknown command features\n", `"features" printed invalid JSON`},
		{"empty", "", `"features" printed invalid JSON`},
		{"truncated", `{"linux":{"capabilities":["CAP_KILL"`, `"features" printed invalid JSON`},
		{"trailing data", `{"linux":{"capabilities":["CAP_KILL"]}} x`, `"features" printed invalid JSON`},
		{"entry not a string", `{"linux":{"capabilities":["CAP_KILL",39]}}`, `"features" printed invalid JSON`},
		{"capabilities not a list", `{"linux":{"capabilities":"CAP_KILL"}}`, `"features" printed invalid JSON`},
		{"null", `null`, `"features" lists no linux.capabilities`},
		{"no linux", `{"ociVersionMin":"1.0.0"}`, `"features" lists no linux.capabilities`},
		{"capabilities null", `{"linux":{"capabilities":null}}`, `"features" lists no linux.capabilities`},
		{"terminal escape", "\x1b[2J{", `"features" printed invalid JSON`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &plugin.Features{Runtime: "/usr/bin/broken"}
			parseFeatures(f, []byte(tt.stdout))
			if !f.Unknown || !strings.Contains(f.Reason, tt.reason) || f.Names != nil || f.AllCaps || f.Numerals {
				t.Fatalf("features %+v; want unknown, reason %q, nothing else", f, tt.reason)
			}
			if strings.ContainsAny(f.Reason, "\x1b\n") {
				t.Errorf("reason %q carries control characters", f.Reason)
			}
			entries, _, err := plugin.Emit(capnames.UpTo(40), true, badEnv61, f, plugin.Auto)
			if err != nil {
				t.Fatal(err)
			}
			if want := badEnv61.Bounding.Strings(); !slices.Equal(entries, want) {
				t.Errorf("entries %q; want the table's names of the bounding set %q", entries, want)
			}
		})
	}
}

// TestBadInputFeaturesNames checks that names a runtime lists but that are
// not canonical capability names never reach the entries.
func TestBadInputFeaturesNames(t *testing.T) {
	f := &plugin.Features{Runtime: "/usr/bin/odd"}
	parseFeatures(f, []byte(`{"linux":{"capabilities":["cap_kill","CAP_CHOWN ","\u0043AP_SETUID","5","CAP_\u212aILL","all","CAP_NET_RAW"]}}`))
	if f.Unknown {
		t.Fatalf("features %+v: want known names", f)
	}
	for _, policy := range []plugin.Policy{plugin.Auto, plugin.Names, plugin.Numeric, plugin.AllCaps} {
		entries, r, err := plugin.Emit(capnames.UpTo(40), true, badEnv61, f, policy)
		if err != nil {
			t.Fatal(err)
		}
		// "\u0043AP_SETUID" is JSON for "CAP_SETUID": a name the runtime
		// lists, so it is the only other entry.
		if want := []string{"CAP_SETUID", "CAP_NET_RAW"}; !slices.Equal(entries, want) {
			t.Errorf("policy %v: entries %q, want %q", policy, entries, want)
		}
		if r.Granted != capnames.SetOf(capnames.CAP_SETUID, capnames.CAP_NET_RAW) {
			t.Errorf("policy %v: granted %v", policy, r.Granted.Strings())
		}
	}
}

// TestNotFoundKeepsItsCause: the error for a runtime that is not there
// wraps both ErrRuntimeNotFound and the file system's reason, so that a
// caller can tell a missing file from one it may not read.
func TestNotFoundKeepsItsCause(t *testing.T) {
	_, err := (&Prober{DisableDiskCache: true}).Probe(context.Background(), filepath.Join(t.TempDir(), "runc"))
	if !errors.Is(err, ErrRuntimeNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Probe of a missing runtime: %v; want ErrRuntimeNotFound and fs.ErrNotExist", err)
	}
}
