package plugin_test

import (
	"fmt"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
)

// crun 1.8.1 on a kernel newer than the capability table: the table names
// capabilities up to CAP_AUDIT_READ (37), the kernel has 40, and crun takes
// numerals for the rest. A bounding set without CAP_SYS_RESOURCE leaves it
// out, with the reason.
func ExampleEmit() {
	env := plugin.Env{
		Table:      capnames.Default().UpTo(capnames.CAP_AUDIT_READ),
		KernelLast: 40,
		Bounding:   capnames.UpTo(40).Minus(capnames.SetOf(capnames.CAP_SYS_RESOURCE)),
	}
	crun := &plugin.Features{Version: "crun 1.8.1", Unknown: true, Reason: "no features command", Numerals: true}
	requested := capnames.SetOf(capnames.CAP_CHOWN, capnames.CAP_SYS_RESOURCE, capnames.CAP_BPF)

	entries, report, err := plugin.Emit(requested, false, env, crun, plugin.Auto)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(entries, report.Policy)
	for _, o := range report.Omitted {
		fmt.Printf("left out %s: %s\n", o.Name, o.Reason)
	}
	// Output:
	// [CAP_CHOWN 39] numeric
	// left out CAP_SYS_RESOURCE: not-in-bounding-set
}
