package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/gen"
	"github.com/spf13/cobra"
)

type generateOptions struct {
	headers     []string // FILE or FILE=VERSION
	kernelTrees []string
	manPage     string
	manPageSet  bool
	tableSet    bool
	out         string
	table       string
	fromJSON    string
	pkgName     string
}

func newGenerateCommand() *cobra.Command {
	var o generateOptions
	cmd := &cobra.Command{
		Use:   "generate [flags]",
		Short: "Generate the capability table from kernel headers",
		Long: `Generate parses kernel capability headers, merges them with the committed table
and the since-versions of capabilities(7), and writes zz_generated.go and
capabilities.json into --out. Without --header or --kernel-tree it reads
` + systemHeader + ` and the version.h beside it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.manPageSet = cmd.Flags().Changed("man-page")
			o.tableSet = cmd.Flags().Changed("table")
			return runGenerate(cmd.OutOrStdout(), &o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.headers, "header", nil, "capability header `FILE[=VERSION]` to read, such as capability.h=6.1 (repeatable)")
	f.StringArrayVar(&o.kernelTrees, "kernel-tree", nil, "kernel source tree `DIR` whose capability header and Makefile version to read (repeatable)")
	f.StringVar(&o.manPage, "man-page", systemManPage, "capabilities(7) `FILE` to take since-versions from (\"\" for none)")
	f.StringVar(&o.out, "out", "", "`DIR` to write zz_generated.go and capabilities.json into (default: capnames of this checkout)")
	f.StringVar(&o.table, "table", "", "committed table `FILE` to merge with (default: capnames/capabilities.json of this checkout, else the table built into capgen)")
	f.StringVar(&o.fromJSON, "from-json", "", "regenerate from the capabilities.json `FILE` alone, reading no header or man page")
	f.StringVar(&o.pkgName, "package", "", "package `NAME` of the generated file (default: base name of --out)")
	// --from-json reads nothing else: a source given beside it would be
	// ignored without a word.
	for _, source := range []string{"header", "kernel-tree", "man-page", "table"} {
		cmd.MarkFlagsMutuallyExclusive("from-json", source)
	}
	return cmd
}

func runGenerate(w io.Writer, o *generateOptions) error {
	if err := o.resolveDefaults(); err != nil {
		return err
	}
	previous, _ := gen.ReadTable(filepath.Join(o.out, tableFile))
	table, err := o.readTable(w)
	if err != nil {
		return err
	}
	if err := writeTable(table, o.out, o.pkgName); err != nil {
		return err
	}
	reportChanges(w, previous, table)
	fmt.Fprintf(w, "wrote %s and %s\n", filepath.Join(o.out, generatedFile), filepath.Join(o.out, tableFile))
	return nil
}

// readTable returns the table to write: the one --from-json names, or the
// merge of every source.
func (o *generateOptions) readTable(w io.Writer) (*gen.Table, error) {
	if o.fromJSON == "" {
		return o.merge(w)
	}
	t, err := gen.ReadTable(o.fromJSON)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "read %s: %d capabilities\n", o.fromJSON, len(t.Capabilities))
	return t, nil
}

// resolveDefaults fills in the checkout-relative defaults of --out and
// --table, and the package name.
func (o *generateOptions) resolveDefaults() error {
	root, rootErr := checkoutRoot()
	if o.out == "" {
		if rootErr != nil {
			return fmt.Errorf("--out not given and %w", rootErr)
		}
		o.out = filepath.Join(root, committedDir)
	}
	if o.table == "" && rootErr == nil {
		o.table = filepath.Join(root, committedDir, tableFile)
	}
	if o.pkgName == "" {
		abs, err := filepath.Abs(o.out)
		if err != nil {
			return err
		}
		o.pkgName = filepath.Base(abs)
	}
	if !gen.IsPackageName(o.pkgName) {
		return fmt.Errorf("package name %q (from --out %s) is not a Go package name; give --package", o.pkgName, o.out)
	}
	return nil
}

// merge reads every source and merges them, saying what it read.
func (o *generateOptions) merge(w io.Writer) (*gen.Table, error) {
	committed, err := o.committedTable()
	if err != nil {
		return nil, err
	}
	if committed != nil {
		fmt.Fprintf(w, "committed table: %d capabilities (Linux %s)\n", len(committed.Capabilities), committed.Kernel)
	}
	headers, err := o.readHeaders()
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		fmt.Fprintf(w, "read %s (Linux %s): %d capabilities, last %d\n", h.File, versionOrUnknown(h.Version), len(h.Capabilities), h.Last)
		for _, warning := range h.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", warning)
		}
	}
	man, manName, err := o.readManPage()
	if err != nil {
		return nil, err
	}
	if man != nil {
		fmt.Fprintf(w, "read %s: since-versions of %d capabilities\n", manName, len(man))
	}
	table, warnings, err := gen.Merge(gen.Sources{Committed: committed, Headers: headers, ManPage: man, ManPageName: manName})
	for _, warning := range warnings {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
	return table, err
}

func versionOrUnknown(version string) string {
	if version == "" {
		return "version unknown"
	}
	return version
}

// committedTable reads --table, or takes the table built into capgen
// outside a checkout. A checkout without a table yet (the very first
// generation) has none.
func (o *generateOptions) committedTable() (*gen.Table, error) {
	if o.table != "" {
		t, err := gen.ReadTable(o.table)
		if errors.Is(err, os.ErrNotExist) && !o.tableSet {
			return nil, nil
		}
		return t, err
	}
	t := capnames.Default()
	out := &gen.Table{Kernel: t.Kernel()}
	for _, e := range t.Entries() {
		out.Capabilities = append(out.Capabilities, gen.Entry{Name: e.Name, Value: int(e.Value), Since: e.Since})
	}
	return out, nil
}

func (o *generateOptions) readHeaders() ([]*gen.Header, error) {
	specs := o.headers
	for _, dir := range o.kernelTrees {
		path, version, err := gen.KernelTreeHeader(dir)
		if err != nil {
			return nil, err
		}
		specs = append(specs, path+"="+version)
	}
	if len(specs) == 0 {
		specs = []string{systemHeader}
	}
	headers := make([]*gen.Header, 0, len(specs))
	for _, spec := range specs {
		path, version, _ := strings.Cut(spec, "=")
		h, err := gen.ReadHeader(path, version)
		if err != nil {
			return nil, err
		}
		headers = append(headers, h)
	}
	return headers, nil
}

// readManPage reads --man-page. The default page may be missing (Debian's
// manpages package is not installed everywhere); one named explicitly may
// not.
func (o *generateOptions) readManPage() (map[string]string, string, error) {
	if o.manPage == "" {
		return nil, "", nil
	}
	f, err := os.Open(o.manPage)
	if errors.Is(err, os.ErrNotExist) && !o.manPageSet {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	since, err := gen.ParseManPage(f)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", o.manPage, err)
	}
	return since, "capabilities(7) " + o.manPage, nil
}

// generatedFiles returns the contents of the two files generated for table
// in dir.
func generatedFiles(table *gen.Table, dir, pkgName string) (goSrc, jsonSrc []byte, err error) {
	pkgPath, err := importPath(dir)
	if err != nil {
		return nil, nil, err
	}
	goSrc, err = gen.EmitGo(table, pkgPath, pkgName)
	return goSrc, table.MarshalIndent(), err
}

func writeTable(table *gen.Table, dir, pkgName string) error {
	goSrc, jsonSrc, err := generatedFiles(table, dir, pkgName)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, tableFile), jsonSrc); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, generatedFile), goSrc)
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// reportChanges says how table differs from the one the output directory
// held before.
func reportChanges(w io.Writer, previous, table *gen.Table) {
	if previous == nil {
		fmt.Fprintf(w, "new table: %d capabilities, last %s\n", len(table.Capabilities), table.Capabilities[len(table.Capabilities)-1].Name)
		return
	}
	changed := false
	if previous.Kernel != table.Kernel {
		fmt.Fprintf(w, "kernel: %s -> %s\n", versionOrUnknown(previous.Kernel), table.Kernel)
		changed = true
	}
	for _, e := range table.Capabilities {
		old, ok := previous.Lookup(e.Name)
		switch {
		case !ok:
			fmt.Fprintf(w, "new: %s = %d (since Linux %s)\n", e.Name, e.Value, versionOrUnknown(e.Since))
		case old != e:
			fmt.Fprintf(w, "changed: %s = %d (since Linux %s), was %d (since Linux %s)\n",
				e.Name, e.Value, versionOrUnknown(e.Since), old.Value, versionOrUnknown(old.Since))
		default:
			continue
		}
		changed = true
	}
	if !changed {
		fmt.Fprintf(w, "no changes: %d capabilities, last %s\n", len(table.Capabilities), table.Capabilities[len(table.Capabilities)-1].Name)
	}
}
