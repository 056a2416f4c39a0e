package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
	"github.com/spf13/cobra"
)

// listRow is one capability as `capgen list` shows it.
type listRow struct {
	Value    capnames.Cap `json:"value"`
	Name     string       `json:"name"`
	Since    string       `json:"since"`
	Kernel   bool         `json:"kernel"`   // the running kernel has it
	Bounding bool         `json:"bounding"` // in this process's bounding set
	// Runtime says how the runtime given with --runtime takes the
	// capability: "name", "assumed" (by name, but the runtime does not
	// list its names), "numeral" or "no".
	Runtime string `json:"runtime,omitempty"`
}

func newListCommand() *cobra.Command {
	var asJSON bool
	var runtime, cacheDir string
	var runtimeFlags []string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the capabilities of the table and of the running kernel",
		Long: `List prints every capability the table names or the running kernel has: its
number, name, the kernel release that added it, whether this kernel has it,
and whether it is in this process's bounding set. With --runtime it adds a
column saying whether that OCI runtime takes the capability by name, only as
a numeral, or not at all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rows, err := listRows(capnames.Default())
			if err != nil {
				return err
			}
			if runtime != "" {
				f, err := probeIn(cacheDir, runtimeFlags)(cmd.Context(), runtime)
				if err != nil {
					return err
				}
				addRuntimeColumn(rows, f)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			return printList(cmd.OutOrStdout(), rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&runtime, "runtime", "", "OCI `RUNTIME` to add a column for: a containers.conf name or a path")
	addRuntimeFlagFlag(cmd, &runtimeFlags)
	addCacheDirFlag(cmd, &cacheDir)
	return cmd
}

func listRows(table *capnames.Table) ([]listRow, error) {
	last, err := capnames.KernelLast()
	if err != nil {
		return nil, err
	}
	bounding, err := capnames.Bounding()
	if err != nil {
		return nil, err
	}
	var rows []listRow
	for c := range max(last, table.Last()) + 1 {
		e, named := table.Lookup(c)
		if !named && c > last {
			continue
		}
		rows = append(rows, listRow{
			Value: c, Name: table.Name(c), Since: e.Since,
			Kernel: c <= last, Bounding: bounding.Has(c),
		})
	}
	return rows, nil
}

// addRuntimeColumn fills in how the runtime f describes takes each row's
// capability.
func addRuntimeColumn(rows []listRow, f *plugin.Features) {
	for i, r := range rows {
		switch {
		case r.Value.Known() && f.Unknown:
			rows[i].Runtime = "assumed"
		case r.Value.Known() && f.Recognises(r.Name):
			rows[i].Runtime = "name"
		case f.Numerals:
			rows[i].Runtime = "numeral"
		default:
			rows[i].Runtime = "no"
		}
	}
}

func printList(w io.Writer, rows []listRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	withRuntime := len(rows) > 0 && rows[0].Runtime != ""
	header := "NUM\tNAME\tSINCE\tKERNEL\tBOUNDING"
	if withRuntime {
		header += "\tRUNTIME"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s", r.Value, r.Name, orDash(r.Since), yesNo(r.Kernel), yesNo(r.Bounding))
		if withRuntime {
			fmt.Fprintf(tw, "\t%s", r.Runtime)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
