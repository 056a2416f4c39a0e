package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/capgen-dev/capgen/internal/configure"
	"github.com/spf13/cobra"
)

func newConfigureCommand() *cobra.Command {
	var opts configure.Options
	var engine, mode string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "configure --engine podman|buildah|docker|containerd|crio",
		Short: "Set up capgen's hook or runtime shim in an engine's configuration",
		Long: `Configure sets up capgen for an engine in the engine's own configuration:

  podman      the shim as the default runtime (default): a containers.conf drop-in
              naming capgen-NAME in [engine.runtimes], as engine.runtime, and in
              the runtime_supports_* lists that name NAME; --mode shim without
              --set-default leaves engine.runtime alone; --mode hook: the hook
              file in capgen's hooks directory (` + configure.DefaultHooksDir + `)
              and a drop-in adding it to the hooks directories (the hook sees
              no exec)
  buildah     the shim, as for podman (Buildah has no precreate hooks)
  docker      capgen-NAME in daemon.json's runtimes (default-runtime with --set-default)
  containerd  a CRI runtime handler capgen-NAME (io.containerd.runc.v2, BinaryName the
              shim) appended to config.toml in its version's layout (2: containerd
              1.x; 3 and 4: 2.x), never migrating it; it prints the RuntimeClass
              that selects it; --set-default makes it the CRI's default_runtime_name
  crio        a crio.conf.d drop-in naming capgen-NAME in [crio.runtime.runtimes]
              (default_runtime with --set-default); it prints the RuntimeClass

For the shim it links capgen-NAME beside this binary (to capshim when that is
installed there). A second run changes nothing and says so; files are written
atomically, and a file it modifies is backed up as FILE.capgen-backup. --remove
undoes exactly what it added. It never restarts an engine, and never writes to
the hooks directories Podman and Buildah share.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			self, err := os.Executable()
			if err != nil {
				return err
			}
			if self, err = filepath.EvalSymlinks(self); err != nil {
				return err
			}
			opts.Engine, opts.Mode, opts.Binary = configure.Engine(engine), configure.Mode(mode), self
			return runConfigure(cmd.OutOrStdout(), opts, dryRun)
		},
	}
	f := cmd.Flags()
	f.StringVar(&engine, "engine", "", "`ENGINE` to configure: podman, buildah, docker, containerd or crio")
	f.StringVar(&mode, "mode", "", "`MODE`: shim (the default; for Podman also its default runtime) or hook (Podman only; sees no exec)")
	f.StringVar(&opts.Runtime, "runtime", "", "real `NAME` of the shim capgen-NAME, or the hook's --runtime (default runc; the hook: containers.conf's)")
	f.StringVar(&opts.Config, "config", "", "`FILE` to edit instead of the engine's default (the drop-in, daemon.json, config.toml, CRI-O's drop-in)")
	f.StringVar(&opts.HooksDir, "hooks-dir", "", "capgen's own hooks `DIR` (default "+configure.DefaultHooksDir+")")
	f.BoolVar(&opts.SetDefault, "set-default", false, "make capgen-NAME the engine's default runtime (podman, buildah, docker; containerd's CRI default_runtime_name)")
	f.BoolVar(&opts.Remove, "remove", false, "undo what configure added")
	f.BoolVar(&dryRun, "dry-run", false, "print the changes as a diff instead of making them")
	cmd.MarkFlagRequired("engine")
	return cmd
}

func runConfigure(out io.Writer, opts configure.Options, dryRun bool) error {
	changes, err := configure.Plan(opts)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		if opts.Remove {
			fmt.Fprintf(out, "%s: nothing of capgen's to remove\n", opts.Engine)
		} else {
			fmt.Fprintf(out, "%s: configured already; nothing changed\n", opts.Engine)
		}
		return nil
	}
	if dryRun {
		fmt.Fprint(out, configure.Diff(changes))
		return nil
	}
	if err := configure.Apply(changes); err != nil {
		return err
	}
	for _, c := range changes {
		fmt.Fprintln(out, describe(c))
	}
	if opts.Mode == configure.Hook && !opts.Remove {
		fmt.Fprintln(out, "note:", configure.HookExecGap)
	}
	if p := configure.Restart(opts.Engine); p != "" {
		fmt.Fprintf(out, "restart %s for this to take effect (capgen configure does not restart it)\n", p)
	}
	if (opts.Engine == configure.Containerd || opts.Engine == configure.Crio) && !opts.Remove {
		fmt.Fprintf(out, "Kubernetes selects the handler with this RuntimeClass:\n%s", configure.RuntimeClass(opts.Runtime))
	}
	return nil
}

// describe says in a line what Apply did with c.
func describe(c configure.Change) string {
	switch {
	case c.LinkTo != "" && c.New == nil:
		return "removed link " + c.Path
	case c.LinkTo != "":
		return fmt.Sprintf("linked %s -> %s", c.Path, c.LinkTo)
	case c.New == nil:
		return "removed " + c.Path
	case c.Old == nil:
		return "created " + c.Path
	case c.Backup != "":
		return fmt.Sprintf("updated %s (the original is in %s)", c.Path, c.Backup)
	}
	return "updated " + c.Path
}
