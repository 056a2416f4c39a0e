package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/capgen-dev/capgen/gen"
	"github.com/spf13/cobra"
)

func newParseCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "parse FILE[=VERSION]",
		Short: "Parse a kernel capability header and print what it defines",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, version, _ := strings.Cut(args[0], "=")
			h, err := gen.ReadHeader(path, version)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), h)
			}
			return printHeader(cmd.OutOrStdout(), h)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printHeader(w io.Writer, h *gen.Header) error {
	fmt.Fprintf(w, "%s (Linux %s): %d capabilities, last %d\n", h.File, versionOrUnknown(h.Version), len(h.Capabilities), h.Last)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range h.Capabilities {
		fmt.Fprintf(tw, "%d\t%s\n", c.Value, c.Name)
	}
	for _, alias := range slices.Sorted(maps.Keys(h.Aliases)) {
		fmt.Fprintf(tw, "alias\t%s = %s\n", alias, h.Aliases[alias])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, warning := range h.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
	return nil
}
