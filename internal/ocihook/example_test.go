package ocihook_test

import (
	"context"
	"fmt"
	"os"

	"github.com/capgen-dev/capgen/internal/ocihook"
	"github.com/capgen-dev/capgen/plugin"
)

// The main function of a precreate hook: containers.conf's hooks run it
// with the container's config.json on stdin and read the new one from its
// stdout. The runtime is the one the engine runs the container with.
func ExampleRun() {
	opts := ocihook.Options{Runtime: "crun", Policy: plugin.Auto}
	if err := ocihook.Run(context.Background(), os.Stdin, os.Stdout, os.Stderr, opts); err != nil {
		fmt.Fprintln(os.Stderr, "capgen hook:", err)
		os.Exit(1)
	}
}
