package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/capgen-dev/capgen/gen"
	"github.com/spf13/cobra"
)

func newVerifyCommand() *cobra.Command {
	var header string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that the committed table is generated and up to date",
		Long: `Verify exits 0 when capnames/zz_generated.go and capabilities.json equal a fresh
generation from capabilities.json and the system header (if present) defines
no capability the table lacks; otherwise it names what differs and exits 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := checkoutRoot()
			if err != nil {
				return err
			}
			return runVerify(cmd.OutOrStdout(), filepath.Join(root, committedDir), header)
		},
	}
	cmd.Flags().StringVar(&header, "header", systemHeader, "capability header `FILE` whose capabilities the table must hold (\"\" for none; skipped when absent)")
	return cmd
}

func runVerify(w io.Writer, dir, header string) error {
	problems, err := verifyTable(dir, header)
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		fmt.Fprintf(w, "%s is up to date\n", dir)
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(w, p)
	}
	fmt.Fprintf(w, "run %s to regenerate\n", updateScript)
	return exitError{"verify failed"}
}

// verifyTable lists how dir's generated files differ from what they should
// be.
func verifyTable(dir, header string) ([]string, error) {
	jsonPath := filepath.Join(dir, tableFile)
	table, err := gen.ReadTable(jsonPath)
	if err != nil {
		return nil, err
	}
	wantGo, wantJSON, err := generatedFiles(table, dir, filepath.Base(dir))
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, f := range []struct {
		path string
		want []byte
	}{{filepath.Join(dir, generatedFile), wantGo}, {jsonPath, wantJSON}} {
		if p := compareFile(f.path, f.want); p != "" {
			problems = append(problems, p)
		}
	}
	missing, err := missingFromTable(table, header)
	return append(problems, missing...), err
}

func compareFile(path string, want []byte) string {
	got, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("%s: %v", path, err)
	}
	if bytes.Equal(got, want) {
		return ""
	}
	line := 1 + bytes.Count(want[:commonPrefix(got, want)], []byte("\n"))
	return fmt.Sprintf("%s differs from a fresh generation from %s, first at line %d", path, tableFile, line)
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// missingFromTable lists the capabilities header defines that table lacks
// or numbers differently.
func missingFromTable(table *gen.Table, header string) ([]string, error) {
	if header == "" {
		return nil, nil
	}
	h, err := gen.ReadHeader(header, "")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, c := range h.Capabilities {
		e, ok := table.Lookup(c.Name)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s:%d defines %s = %d, which the table lacks", header, c.Line, c.Name, c.Value))
		case e.Value != c.Value:
			problems = append(problems, fmt.Sprintf("%s:%d defines %s = %d, but the table has %d", header, c.Line, c.Name, c.Value, e.Value))
		}
	}
	return problems, nil
}
