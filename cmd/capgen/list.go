package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/spf13/cobra"
)

// listRow is one capability as `capgen list` shows it.
type listRow struct {
	Value    capnames.Cap `json:"value"`
	Name     string       `json:"name"`
	Since    string       `json:"since"`
	Kernel   bool         `json:"kernel"`   // the running kernel has it
	Bounding bool         `json:"bounding"` // in this process's bounding set
}

func newListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the capabilities of the table and of the running kernel",
		Long: `List prints every capability the table names or the running kernel has: its
number, name, the kernel release that added it, whether this kernel has it,
and whether it is in this process's bounding set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rows, err := listRows(capnames.Default())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			return printList(cmd.OutOrStdout(), rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
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

func printList(w io.Writer, rows []listRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NUM\tNAME\tSINCE\tKERNEL\tBOUNDING")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.Value, r.Name, orDash(r.Since), yesNo(r.Kernel), yesNo(r.Bounding))
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
