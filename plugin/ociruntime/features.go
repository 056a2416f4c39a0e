package ociruntime

// What a runtime says about itself: its features document (runtime-spec's
// features.md), and the first line of its --version.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
)

// Annotations by which a runtime's features output names the runtime.
const (
	crunVersionAnnotation = "run.oci.crun.version"
	runcVersionAnnotation = "org.opencontainers.runc.version"
	// ShimAnnotation is the annotation of capgen's runtime shim in its
	// features output; its value is the real runtime's path.
	ShimAnnotation = "io.github.capgen-dev.shim"
)

// parseFeatures fills f from the output of "<runtime> features".
func parseFeatures(f *plugin.Features, stdout []byte) {
	var doc Document
	if err := json.Unmarshal(stdout, &doc); err != nil {
		f.Unknown, f.Reason = true, `"features" printed invalid JSON: `+printable(err.Error())
		return
	}
	if _, ok := doc.Annotations[ShimAnnotation]; ok {
		f.Shim = true
	}
	if v, ok := doc.Annotations[crunVersionAnnotation]; ok {
		// crun maps each entry with libcap's cap_from_name, which takes
		// decimal numerals: see read_caps in containers/crun
		// src/libcrun/linux.c and lookupname in libcap's cap_text.c.
		f.Version, f.Numerals = "crun "+printable(v), true
	} else if v, ok := doc.Annotations[runcVersionAnnotation]; ok {
		f.Version = "runc " + printable(v)
	}
	if doc.Linux == nil || doc.Linux.Capabilities == nil {
		// runtime-spec: a nil list means "unknown", not "none".
		f.Unknown, f.Reason = true, `"features" lists no linux.capabilities`
		return
	}
	// The list holds names only: an "ALL_CAPS" in it is no advertisement
	// (runtime-spec's schema forbids it), and is not a name.
	f.Names = slices.DeleteFunc(slices.Clone(doc.Linux.Capabilities), func(n string) bool { return n == capnames.AllCaps })
	numerals, allCaps := doc.advertises()
	f.Numerals = f.Numerals || numerals
	f.AllCaps = allCaps
}

// parseVersion fills f.Version and f.Numerals from the output of
// "<runtime> --version" when its first line is "<name> version <v>".
//
// crun prints "crun version X" and, when built with libcap, a "+CAP" tag
// (print_version in containers/crun src/crun.c). Every crun release maps
// process.capabilities entries with libcap's cap_from_name (read_caps in
// src/libcrun/linux.c), which accepts decimal numerals; a crun built without
// libcap (HAVE_CAP unset, no "+CAP") sets no capabilities at all, so it is
// not credited with numerals.
func parseVersion(f *plugin.Features, stdout []byte) {
	first, rest, _ := bytes.Cut(stdout, []byte("\n"))
	fields := strings.Fields(string(first))
	if len(fields) < 3 || fields[1] != "version" {
		return
	}
	name, version := printable(fields[0]), printable(fields[2])
	f.Version = name
	if version[0] >= '0' && version[0] <= '9' {
		// runc built with go install prints "runc version spec: ..."
		// or "runc version unknown": no release to report.
		f.Version += " " + version
	}
	f.Numerals = name == "crun" && slices.Contains(strings.Fields(string(rest)), "+CAP")
}

// RunFeatures runs "path features" with p's timeout and output limit and
// returns what it printed on stdout; the error says why it failed. The
// runtime shim passes the document through.
func (p *Prober) RunFeatures(ctx context.Context, path string) ([]byte, error) {
	out := p.exec(ctx, path, "features")
	if out.failure != "" {
		return nil, fmt.Errorf("%s features: %s", path, out.failure)
	}
	return out.stdout, nil
}
