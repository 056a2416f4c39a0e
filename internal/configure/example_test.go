package configure_test

import (
	"fmt"

	"github.com/capgen-dev/capgen/internal/configure"
)

func ExampleRuntimeClass() {
	fmt.Print(configure.RuntimeClass("runc"))
	// Output:
	// apiVersion: node.k8s.io/v1
	// kind: RuntimeClass
	// metadata:
	//   name: capgen-runc
	// handler: capgen-runc
}

func ExampleRestart() {
	for _, e := range []configure.Engine{configure.Podman, configure.Docker, configure.Containerd} {
		fmt.Printf("%s: %q\n", e, configure.Restart(e))
	}
	// Output:
	// podman: ""
	// docker: "dockerd"
	// containerd: "containerd"
}
