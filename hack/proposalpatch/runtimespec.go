package main

import (
	_ "embed"

	"github.com/capgen-dev/capgen/hack/internal/srctree"
)

var (
	//go:embed files/runtime-spec/config-capabilities.md.in
	specConfigText string
	//go:embed files/runtime-spec/features-linux-capabilities-note.md.in
	specFeaturesNote string
	//go:embed files/runtime-spec/features-linux-section.md.in
	specFeaturesSection string
	//go:embed files/runtime-spec/schema-capability-extensions.json.in
	specSchema string
	//go:embed files/runtime-spec/features-types.go.in
	specTypes string
)

// specFixtures are the schema test fixtures the patch adds: file in
// files/runtime-spec/fixtures, path in the spec's tree.
var specFixtures = map[string]string{
	"features-good-capability-extensions.json":               "schema/test/features/good/capability-extensions.json",
	"features-bad-capability-extensions-enabled-string.json": "schema/test/features/bad/capability-extensions-enabled-string.json",
	"features-bad-capabilities-all-caps-listed.json":         "schema/test/features/bad/capabilities-all-caps-listed.json",
	"features-bad-capabilities-numeral-listed.json":          "schema/test/features/bad/capabilities-numeral-listed.json",
	"config-good-linux-capability-extensions.json":           "schema/test/config/good/linux-capability-extensions.json",
}

// editRuntimeSpec writes the proposal into the spec: the meaning of
// numerals and ALL_CAPS in config.md, the linux.capabilityExtensions
// feature that advertises them (features-linux.md, its schema and Go type),
// and schema fixtures. linux.capabilities stays names only.
func editRuntimeSpec(t *srctree.Tree) error {
	const ambient = "    * **`ambient`** (array of strings, OPTIONAL) the `ambient` field is an array of ambient capabilities that are kept for the process.\n"
	if err := t.Replace("config.md", ambient, ambient+specConfigText); err != nil {
		return err
	}
	const recognise = "  The runtime MUST recognize the elements in this array in the [`process.capabilities` object of `config.json`](config.md#linux-process).\n"
	if err := t.Replace("features-linux.md", recognise, recognise+specFeaturesNote); err != nil {
		return err
	}
	const cgroup = "## <a name=\"linuxFeaturesCgroup\" />Cgroup\n"
	if err := t.Replace("features-linux.md", cgroup, specFeaturesSection+cgroup); err != nil {
		return err
	}
	const pattern = "                    \"pattern\": \"^CAP_[A-Z_]+$\"\n                }\n            },\n"
	if err := t.Replace("schema/features-linux.json", pattern, pattern+specSchema); err != nil {
		return err
	}
	const field = "\tCapabilities []string `json:\"capabilities,omitempty\"`\n"
	if err := t.Replace("specs-go/features/features.go", field, field+
		"\n\t// CapabilityExtensions represents the support for process.capabilities\n"+
		"\t// entries other than capability names.\n"+
		"\tCapabilityExtensions *CapabilityExtensions `json:\"capabilityExtensions,omitempty\"`\n\n"); err != nil {
		return err
	}
	const mount = "// MountExtensions represents the \"mountExtensions\" field.\n"
	if err := t.Replace("specs-go/features/features.go", mount, specTypes+mount); err != nil {
		return err
	}
	for name, path := range specFixtures {
		b, err := files.ReadFile("files/runtime-spec/fixtures/" + name)
		if err != nil {
			return err
		}
		if err := t.Create(path, b); err != nil {
			return err
		}
	}
	return nil
}
