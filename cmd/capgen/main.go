// Command capgen generates the Linux capability table from kernel headers,
// inspects it against the running kernel, and resolves the
// process.capabilities a container engine should hand to an OCI runtime.
//
// Usage:
//
//	capgen list [--json] [--runtime R [--runtime-flag OPTION]... [--cache-dir DIR]]
//	capgen generate [--header FILE[=VERSION]]... [--kernel-tree DIR] [--man-page FILE] [--out DIR]
//	capgen parse FILE [--json]
//	capgen verify
//	capgen resolve [--runtime R] [--runtime-flag OPTION]... [--policy P] [--cap-add X]... [--cap-drop X]... [--privileged] [--user U] [--userns MODE] [--json] [--cache-dir DIR]
//	capgen hook [--runtime R] [--policy P] [--widen-privileged] [--cache-dir DIR]
//	capgen configure --engine podman|buildah|docker|containerd [--mode hook|shim] [--runtime NAME] [--config FILE] [--set-default] [--remove] [--dry-run]
//	capgen version    (also capgen --version)
//
// Invoked as capgen-NAME (a link to or copy of the binary), capgen is the
// OCI runtime NAME with the capabilities of create and run made
// applicable: see internal/shim.Run. CAPGEN_CACHE_DIR moves its probe cache.
// A binary so named whose runtime NAME does not resolve (a release named
// capgen-linux-amd64) is capgen for capgen's own commands and flags.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/capgen-dev/capgen/internal/shim"
	"github.com/capgen-dev/capgen/plugin/ociruntime"

	"github.com/spf13/cobra"
)

func main() {
	ociruntime.ServeReport()
	if name, ok := strings.CutPrefix(filepath.Base(os.Args[0]), shim.Prefix); ok && name != "" && isShim(name, os.Args[1:]) {
		os.Exit(runShim(name, os.Args[1:]))
	}
	if err := newRootCommand().Execute(); err != nil {
		var exit exitError
		if !errors.As(err, &exit) {
			fmt.Fprintln(os.Stderr, "capgen:", err)
		}
		os.Exit(1)
	}
}

// exitError ends the command with status 1 after the command has printed
// what it had to say.
type exitError struct{ msg string }

func (e exitError) Error() string { return e.msg }

// subcommands lists the constructors of capgen's subcommands; each lives in
// its own file.
var subcommands = []func() *cobra.Command{
	newListCommand,
	newGenerateCommand,
	newParseCommand,
	newVerifyCommand,
	newResolveCommand,
	newHookCommand,
	newVersionCommand,
	newConfigureCommand,
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "capgen",
		Short:         "Linux capability table generated from kernel headers, and the engine side of it",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionText(),
	}
	root.SetVersionTemplate("{{.Version}}")
	for _, sub := range subcommands {
		root.AddCommand(sub())
	}
	return root
}
