package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/capgen-dev/capgen/capnames"
)

// versionText is what `capgen version` and `capgen --version` print: the
// module version capgen was built at (a release tag, a pseudo-version, or
// "(devel)" for a build in the checkout, then with the commit when the
// build recorded it), the newest kernel release its table was generated
// from, and the Go that built it. It is what a bug report quotes.
func versionText() string {
	version, commit := "(unknown)", ""
	if info, ok := debug.ReadBuildInfo(); ok {
		version = info.Main.Version
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	if commit != "" {
		version += " (commit " + commit + ")"
	}
	return fmt.Sprintf("capgen %s\ncapability table: Linux %s, %d capabilities, last %s\ngo: %s %s/%s\n",
		version, capnames.TableKernel, capnames.Default().Set().Len(), capnames.Last, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print capgen's version, its capability table's kernel release and the Go that built it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionText())
			return err
		},
	}
}
