package main

import (
	"embed"
	"strings"

	"github.com/capgen-dev/capgen/hack/internal/srctree"
)

//go:embed files
var files embed.FS

var (
	//go:embed files/runc/capslice.go.in
	runcCapSlice string
	//go:embed files/runc/new-sets.go.in
	runcNewSets string
	//go:embed files/runc/capabilities_entries_linux_test.go.in
	runcTest []byte
	//go:embed files/runc/capabilities.bats.in
	runcBats string
)

// Annotations by which the patched runc's features say it takes the entries,
// which the released spec's features document has no field for.
const (
	runcNumeralsAnnotation = "org.opencontainers.runc.capabilities.numerals.enabled"
	runcAllCapsAnnotation  = "org.opencontainers.runc.capabilities.allcaps.enabled"
)

// editRunc makes runc's capabilities.New take decimal numerals and
// ALL_CAPS (the one place where spec strings become capabilities, for
// run, create and exec --cap alike), advertises them with annotations in
// runc features, and adds test cases: Go table cases and bats.
func editRunc(t *srctree.Tree) error {
	const caps = "libcontainer/capabilities/capabilities.go"
	const sets = `	unknownCaps := make(map[string]struct{})
	c.caps = map[capability.CapType][]capability.Cap{
		capability.BOUNDING:    capSlice(capConfig.Bounding, unknownCaps),
		capability.EFFECTIVE:   capSlice(capConfig.Effective, unknownCaps),
		capability.INHERITABLE: capSlice(capConfig.Inheritable, unknownCaps),
		capability.PERMITTED:   capSlice(capConfig.Permitted, unknownCaps),
		capability.AMBIENT:     capSlice(capConfig.Ambient, unknownCaps),
	}
`
	if err := t.Replace(caps, sets, runcNewSets); err != nil {
		return err
	}
	if err := t.ReplaceFunc(caps, "capSlice", runcCapSlice); err != nil {
		return err
	}
	if err := t.Replace(caps, "\t\"github.com/sirupsen/logrus\"\n", "\t\"github.com/sirupsen/logrus\"\n\t\"golang.org/x/sys/unix\"\n"); err != nil {
		return err
	}
	const doc = `// New creates a new Caps from the given Capabilities config. Unknown Capabilities
// or Capabilities that are unavailable in the current environment are ignored,
// printing a warning instead.
`
	if err := t.Replace(caps, doc, doc+"//\n// Besides names, an entry may be a canonical decimal numeral (\"21\") or\n// [AllCaps], as runtime-spec's config.md describes.\n"); err != nil {
		return err
	}
	if err := t.Create("libcontainer/capabilities/capabilities_entries_linux_test.go", runcTest); err != nil {
		return err
	}
	const types = "types/features/features.go"
	const last = "\tAnnotationLibpathrsVersion = \"com.cyphar.pathrs.libpathrs.version\"\n"
	if err := t.Replace(types, last, last+`
	// AnnotationRuncCapabilityNumerals is set to "true" if runc maps decimal
	// numerals in process.capabilities ("21") to the capability of that number.
	AnnotationRuncCapabilityNumerals = "`+runcNumeralsAnnotation+`"

	// AnnotationRuncCapabilityAllCaps is set to "true" if runc expands
	// "ALL_CAPS" in process.capabilities to every capability it can grant.
	AnnotationRuncCapabilityAllCaps = "`+runcAllCapsAnnotation+`"
`); err != nil {
		return err
	}
	const checkpoint = "\t\t\t\truncfeatures.AnnotationRuncCheckpointEnabled: \"true\",\n"
	if err := t.Replace("features.go", checkpoint, checkpoint+
		"\t\t\t\truncfeatures.AnnotationRuncCapabilityNumerals: \"true\",\n"+
		"\t\t\t\truncfeatures.AnnotationRuncCapabilityAllCaps:  \"true\",\n"); err != nil {
		return err
	}
	const bats = "tests/integration/capabilities.bats"
	b, err := t.File(bats)
	if err != nil {
		return err
	}
	return t.Overwrite(bats, []byte(string(b)+runcBats))
}

// editRuncFeatures sets the spec's linux.capabilityExtensions in runc
// features, for a runc built against the patched runtime-spec.
func editRuncFeatures(t *srctree.Tree) error {
	const caps = "\t\t\t\tCapabilities: capabilities.KnownCapabilities(),\n"
	return t.Replace("features.go", caps, caps+strings.Join([]string{
		"\t\t\t\tCapabilityExtensions: &features.CapabilityExtensions{",
		"\t\t\t\t\tNumerals: &features.CapabilityNumerals{Enabled: &t},",
		"\t\t\t\t\tAllCaps:  &features.CapabilityAllCaps{Enabled: &t},",
		"\t\t\t\t},\n",
	}, "\n"))
}
