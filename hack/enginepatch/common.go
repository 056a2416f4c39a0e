package main

import (
	_ "embed"

	"github.com/capgen-dev/capgen/hack/internal/srctree"
)

// The files the common patch adds to pkg/capabilities, written here.
var (
	//go:embed files/common/capabilities.go.in
	commonCapabilities []byte
	//go:embed files/common/spec.go.in
	commonSpec []byte
	//go:embed files/common/order.go.in
	commonOrder []byte
	//go:embed files/common/capgen_test.go.in
	commonTest []byte
)

// editCommon makes go.podman.io/common's pkg/capabilities capgen's, with
// its exported API unchanged, adds SetupSpec, the function both engines
// call to write a spec's capabilities, and keeps the containers.conf loader
// from folding Unicode confusables into capability names.
func editCommon(t *srctree.Tree) error {
	const dir = "pkg/capabilities/"
	if err := t.Overwrite(dir+"capabilities.go", commonCapabilities); err != nil {
		return err
	}
	if err := t.Create(dir+"spec.go", commonSpec); err != nil {
		return err
	}
	if err := t.Create(dir+"order.go", commonOrder); err != nil {
		return err
	}
	if err := t.Create(dir+"capgen_test.go", commonTest); err != nil {
		return err
	}
	return editAddCAPPrefix(t)
}

// editAddCAPPrefix makes the loader's "CAP_" prefixing of
// default_capabilities upper-case ASCII letters only: strings.ToUpper
// turns "ſys_admin" into SYS_ADMIN before pkg/capabilities can refuse it.
func editAddCAPPrefix(t *srctree.Tree) error {
	const file = "pkg/config/config.go"
	err := t.Replace(file, `			val = "CAP_" + strings.ToUpper(val)
`, `			// Upper-case ASCII letters only: Unicode case mapping would
			// turn "ſys_admin" into SYS_ADMIN, which pkg/capabilities
			// refuses as it is written.
			val = "CAP_" + strings.Map(upperASCII, val)
`)
	if err != nil {
		return err
	}
	b, err := t.File(file)
	if err != nil {
		return err
	}
	return t.Overwrite(file, append(b, []byte(`
// upperASCII maps a-z to A-Z and leaves every other rune as it is.
func upperASCII(r rune) rune {
	if 'a' <= r && r <= 'z' {
		return r - 'a' + 'A'
	}
	return r
}
`)...))
}
