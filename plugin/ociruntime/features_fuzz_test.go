package ociruntime

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
)

// FuzzFeaturesJSON feeds arbitrary "<runtime> features" output to
// parseFeatures and checks what the probe then believes about the runtime:
// garbage makes it Unknown with a reason; Names are only the strings the
// output lists under linux.capabilities; AllCaps only when "ALL_CAPS" is
// among them; Numerals only for crun; texts from the runtime are
// printable. The result is then used for an emission, whose entries must be
// names the runtime listed, or numerals or ALL_CAPS only when it said it
// takes them.
func FuzzFeaturesJSON(f *testing.F) {
	f.Add([]byte(`{"ociVersionMin":"1.0.0","linux":{"capabilities":["CAP_CHOWN","CAP_KILL"]}}`))
	f.Add([]byte(`{"linux":{"capabilities":["CAP_CHOWN","ALL_CAPS"]},"annotations":{"run.oci.crun.version":"1.29"}}`))
	f.Add([]byte(`{"linux":{"capabilities":["CAP_CHOWN"],"capabilityExtensions":{"numerals":{"enabled":true},"allCaps":{"enabled":true}}}}`))
	f.Add([]byte(`{"linux":{"capabilities":["CAP_CHOWN"]},"annotations":{"org.opencontainers.runc.capabilities.allcaps.enabled":"true"}}`))
	f.Fuzz(func(t *testing.T, stdout []byte) {
		const path = "/usr/libexec/fuzz-runtime"
		got := &plugin.Features{Runtime: path}
		parseFeatures(got, stdout)

		if got.Runtime != path {
			t.Errorf("Runtime changed to %q", got.Runtime)
		}
		if !utf8.ValidString(got.Version) || !allPrintable(got.Version) || !allPrintable(got.Reason) {
			t.Errorf("unprintable text from the runtime: version %q, reason %q", got.Version, got.Reason)
		}
		var ff Document
		if err := json.Unmarshal(stdout, &ff); err != nil {
			if !got.Unknown || got.Reason == "" || got.Names != nil || got.AllCaps || got.Numerals || got.Version != "" {
				t.Fatalf("invalid JSON (%v) gave %+v; want Unknown with a reason and nothing else", err, got)
			}
			return
		}
		var listed []string
		if ff.Linux != nil {
			listed = ff.Linux.Capabilities
		}
		switch {
		case listed == nil:
			if !got.Unknown || got.Reason == "" || got.Names != nil || got.AllCaps {
				t.Fatalf("no linux.capabilities gave %+v; want Unknown with a reason", got)
			}
		case got.Unknown || got.Names == nil || !slices.Equal(got.Names, slices.DeleteFunc(slices.Clone(listed), func(n string) bool { return n == capnames.AllCaps })):
			t.Fatalf("linux.capabilities %q gave %+v; want those names but ALL_CAPS, known", listed, got)
		}
		var numerals, allCaps bool
		if ff.Linux != nil && ff.Linux.CapabilityExtensions != nil {
			x := ff.Linux.CapabilityExtensions
			numerals = x.Numerals != nil && x.Numerals.Enabled != nil && *x.Numerals.Enabled
			allCaps = x.AllCaps != nil && x.AllCaps.Enabled != nil && *x.AllCaps.Enabled
		}
		numerals = numerals || ff.Annotations[runcNumeralsAnnotation] == "true"
		allCaps = allCaps || ff.Annotations[runcAllCapsAnnotation] == "true"
		if known := listed != nil; got.AllCaps != (known && allCaps) {
			t.Errorf("AllCaps %v for an advertisement of %v", got.AllCaps, allCaps)
		}
		_, crun := ff.Annotations[crunVersionAnnotation]
		if known := listed != nil; got.Numerals != (crun || known && numerals) {
			t.Errorf("Numerals %v for annotations %q and an advertisement of %v", got.Numerals, ff.Annotations, numerals)
		}
		checkEmissionFor(t, got)
	})
}

// checkEmissionFor emits every capability of a 6.1 kernel for f and
// checks that each entry is one f says the runtime takes.
func checkEmissionFor(t *testing.T, f *plugin.Features) {
	t.Helper()
	env := plugin.Env{KernelLast: 40, Bounding: capnames.UpTo(40)}
	for _, policy := range []plugin.Policy{plugin.Auto, plugin.Names, plugin.Numeric, plugin.AllCaps} {
		entries, report, err := plugin.Emit(capnames.UpTo(40), true, env, f, policy)
		if err != nil {
			t.Fatalf("Emit for %+v, policy %v: %v", f, policy, err)
		}
		for _, e := range entries {
			_, numErr := capnames.Parse(e)
			isNumeral := numErr == nil && e != "" && e[0] >= '0' && e[0] <= '9'
			switch {
			case e == capnames.AllCaps:
				if !f.AllCaps || f.Unknown {
					t.Errorf("policy %v: ALL_CAPS emitted to a runtime that did not list it: %+v", policy, f)
				}
			case isNumeral:
				if !f.Numerals {
					t.Errorf("policy %v: numeral %q emitted to a runtime that takes none: %+v", policy, e, f)
				}
			case !f.Unknown && f.Names != nil && !slices.Contains(f.Names, e):
				t.Errorf("policy %v: entry %q is not among the runtime's names %q", policy, e, f.Names)
			case numErr != nil:
				t.Errorf("policy %v: entry %q is no capability: %v", policy, e, numErr)
			}
		}
		if report.Granted.Minus(capnames.UpTo(40)) != 0 {
			t.Errorf("policy %v: granted %v beyond the kernel", policy, report.Granted.Strings())
		}
	}
}

func allPrintable(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != utf8.RuneError })
}
