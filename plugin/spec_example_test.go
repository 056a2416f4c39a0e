package plugin_test

import (
	"fmt"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
)

// A config.json whose bounding list holds a numeral and a name no kernel
// has, for a kernel whose last capability is CAP_CHECKPOINT_RESTORE and a
// runtime whose features are unknown.
func ExampleFilterConfig() {
	env := plugin.Target{Env: plugin.Env{
		KernelLast: capnames.CAP_CHECKPOINT_RESTORE,
		Bounding:   capnames.UpTo(capnames.CAP_CHECKPOINT_RESTORE),
	}}
	in := `{"ociVersion":"1.3.0","process":{"user":{"uid":0,"gid":0},"cwd":"/",
		"capabilities":{"bounding":["CAP_CHOWN","39","CAP_NOPE"]}}}`
	out, warnings, err := plugin.FilterConfig([]byte(in), env)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	for _, w := range warnings {
		fmt.Println(w)
	}
	// Output:
	// {"ociVersion":"1.3.0","process":{"user":{"uid":0,"gid":0},"cwd":"/","capabilities":{"bounding":["CAP_CHOWN","CAP_BPF"]}}}
	// process.capabilities.bounding: dropped entry "CAP_NOPE": capability "CAP_NOPE": unknown capability: no such name
}

// Podman 4.3's privileged marker, trusted by the administrator's
// TrustPrivileged, widens bounding, effective and permitted of a root
// process to every capability of the kernel in the bounding set.
func ExampleRewriteCapabilities() {
	env := plugin.Target{Env: plugin.Env{
		KernelLast: capnames.CAP_CHECKPOINT_RESTORE,
		Bounding:   capnames.UpTo(capnames.CAP_CHECKPOINT_RESTORE).Minus(capnames.SetOf(capnames.CAP_SYS_RESOURCE)),
	}, TrustPrivileged: true}
	spec, err := plugin.DecodeConfig([]byte(`{"ociVersion":"1.3.0",
		"annotations":{"io.podman.annotations.privileged":"TRUE"},
		"process":{"user":{"uid":0,"gid":0},"cwd":"/","capabilities":{"bounding":["CAP_CHOWN"]}}}`), "config.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := plugin.RewriteCapabilities(spec, env); err != nil {
		fmt.Println(err)
		return
	}
	c := spec.Process.Capabilities
	fmt.Println(len(c.Bounding), len(c.Effective), len(c.Permitted), len(c.Inheritable), len(c.Ambient))
	// Output:
	// 40 40 40 0 0
}
