package main

import (
	"fmt"

	"github.com/capgen-dev/capgen/plugin"
	"github.com/spf13/cobra"
)

func newHookCommand() *cobra.Command {
	var runtime, policy, cacheDir string
	cmd := &cobra.Command{
		Use:   "hook",
		Short: "OCI precreate hook: rewrite process.capabilities of a config.json read on stdin",
		Long: fmt.Sprintf(`Hook is a precreate hook for Podman (hooks.d schema 1.0.0, see
cmd/capgen/hooks.d/99-capgen.json). It reads a runtime spec on stdin and
writes it back on stdout with process.capabilities rewritten:

  - ALL_CAPS and numerals become the capabilities of this kernel they
    stand for, limited to the bounding set and written in the form the
    runtime takes; entries naming no capability of this kernel are dropped
    with a warning on stderr.
  - With the annotation %s=%s, or Podman's
    %s=%s (--privileged), bounding (and, for uid 0,
    effective and permitted) widen to every capability the kernel, the
    bounding set and the runtime allow. Inheritable and ambient never widen.

On invalid input (not JSON, not a 1.x runtime spec, trailing data, more than
%d bytes, a capabilities entry that is not a string, an unknown value of
%s) it writes nothing on stdout, names the problem on
stderr and exits 1; the engine then fails the container.`,
			plugin.CapabilitiesAnnotation, plugin.CapabilitiesAll,
			plugin.PodmanPrivilegedAnnotation, plugin.PodmanTrue,
			plugin.MaxHookInput, plugin.CapabilitiesAnnotation),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := plugin.ParsePolicy(policy)
			if err != nil {
				return err
			}
			return plugin.RunHook(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(),
				plugin.HookOptions{Runtime: runtime, Policy: p, Prober: prober(cacheDir)})
		},
	}
	cmd.Flags().StringVar(&runtime, "runtime", "", "OCI `RUNTIME` the container runs with: a containers.conf name or a path (default: containers.conf engine.runtime)")
	cmd.Flags().StringVar(&policy, "policy", plugin.Auto.String(), "entry form `POLICY`: auto, names, numeric or all-caps")
	addCacheDirFlag(cmd, &cacheDir)
	return cmd
}
