package main

import (
	"fmt"
	"os"

	"github.com/capgen-dev/capgen/internal/ocihook"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/capgen-dev/capgen/plugin/engine"
	"github.com/spf13/cobra"
)

func newHookCommand() *cobra.Command {
	var runtime, policy, cacheDir, input string
	var widenPrivileged bool
	cmd := &cobra.Command{
		Use:   "hook",
		Short: "OCI precreate hook: rewrite process.capabilities of a config.json read on stdin",
		Long: fmt.Sprintf(`Hook is a precreate hook for Podman (hooks.d schema 1.0.0, see
cmd/capgen/hooks.d/99-capgen.json). It reads a runtime spec on stdin and
writes it back on stdout with process.capabilities rewritten: ALL_CAPS and
numerals become the capabilities of this kernel they stand for, and every
list is limited to the kernel, the bounding set and what the runtime
applies, in the form the runtime takes. Entries naming no capability of
this kernel are dropped with a warning on stderr. No list grants more than
the engine wrote.

No annotation widens a container: images and users can set them. Only
with --widen-privileged does Podman's %s=%s
(--privileged) widen bounding (and, for uid 0, effective and permitted) to
everything the kernel, the bounding set and the runtime allow. Set it only
for Podman 4.0 to 4.3, which write that annotation on every container
themselves; later releases let a user's or a kube YAML's value through.
Annotations the hook does not act on are ignored with a warning.

On invalid input (not JSON, not a 1.x runtime spec, trailing data, more than
%d bytes, a capabilities entry that is not a string) it writes nothing on
stdout, names the problem on stderr and exits 1; the engine then fails the
container.`,
			plugin.PodmanPrivilegedAnnotation, plugin.PodmanTrue, plugin.MaxSpecSize),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := plugin.ParsePolicy(policy)
			if err != nil {
				return err
			}
			in := cmd.InOrStdin()
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return fmt.Errorf("--input: %w", err)
				}
				defer f.Close()
				in = f
			}
			return ocihook.Run(cmd.Context(), in, cmd.OutOrStdout(), cmd.ErrOrStderr(),
				ocihook.Options{Runtime: runtime, DefaultRuntime: engine.DefaultRuntime, Policy: p, TrustPrivileged: widenPrivileged, Prober: proberIn(cacheDir)})
		},
	}
	cmd.Flags().StringVar(&runtime, "runtime", "", "OCI `RUNTIME` the container runs with: a containers.conf name or a path (default: containers.conf engine.runtime)")
	cmd.Flags().StringVar(&policy, "policy", plugin.Auto.String(), "entry form `POLICY`: auto, names, numeric or all-caps")
	cmd.Flags().BoolVar(&widenPrivileged, "widen-privileged", false, "widen containers Podman marks privileged: only for Podman 4.0 to 4.3, which write the mark on every container")
	cmd.Flags().StringVar(&input, "input", "", "read the spec from `FILE` instead of stdin: to see what the hook would write")
	addCacheDirFlag(cmd, &cacheDir)
	return cmd
}
