package plugin_test

import (
	"fmt"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func ExampleApply() {
	// A kernel whose last capability is 40 (CAP_CHECKPOINT_RESTORE), a
	// bounding set without CAP_SYS_RESOURCE, and a runtime that names only
	// the 38 capabilities of Linux 5.7 and takes no numerals. Leave Env out
	// to use this machine's.
	env := plugin.Env{
		KernelLast: 40,
		Bounding:   capnames.UpTo(40).Minus(capnames.SetOf(capnames.CAP_SYS_RESOURCE)),
	}
	var names []string
	for c := range capnames.CAP_AUDIT_READ + 1 {
		names = append(names, c.String())
	}
	runtime := &plugin.Features{Version: "runc 1.0.0", Names: names}

	spec := &specs.Spec{}
	report, err := plugin.Apply(spec, plugin.Request{
		Adds:    []string{"all"}, // --cap-add=all
		Runtime: runtime,
		Env:     env,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	caps := spec.Process.Capabilities
	fmt.Println("policy:", report.Policy)
	fmt.Println("bounding:", len(caps.Bounding), "entries, ending", strings.Join(caps.Bounding[34:], " "))
	fmt.Println("effective = bounding:", strings.Join(caps.Effective, ",") == strings.Join(caps.Bounding, ","))
	fmt.Println("inheritable, ambient:", caps.Inheritable, caps.Ambient)
	for _, o := range report.Omitted {
		fmt.Printf("left out %s (%s): %s\n", o.Name, o.Reason, o.Text)
	}
	// Output:
	// policy: names
	// bounding: 37 entries, ending CAP_WAKE_ALARM CAP_BLOCK_SUSPEND CAP_AUDIT_READ
	// effective = bounding: true
	// inheritable, ambient: [] []
	// left out CAP_SYS_RESOURCE (not-in-bounding-set): not in the bounding set of the process starting the runtime
	// left out CAP_PERFMON (unknown-to-runtime): unknown to runtime runc 1.0.0, which takes no numerals
	// left out CAP_BPF (unknown-to-runtime): unknown to runtime runc 1.0.0, which takes no numerals
	// left out CAP_CHECKPOINT_RESTORE (unknown-to-runtime): unknown to runtime runc 1.0.0, which takes no numerals
}
