package ociruntime

// Under a sandboxed runtime (gVisor's runsc, Kata) the process whose pid
// "state" reports is the sandbox, not the container: its sets on the host
// say nothing about what the container was given. A trial then learns from
// inside: the container's process is a reporter, a statically linked
// executable bind-mounted read-only into the trial's empty root, which
// copies the capability lines of its own /proc/self/status to its stdout,
// a pipe the trial reads, and ends with reportEnd.

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
	"github.com/capgen-dev/capgen/plugin"
)

// ReportArg is the one argument with which a reporter executable is run
// in a trial container; see [ServeReport].
const ReportArg = "--capgen-trial-report"

// reportEnd ends a reporter's output, so that the trial need not wait for
// the end of a pipe the sandbox may hold open.
const reportEnd = "capgen-trial-report-end"

// reporterPath is where the reporter is mounted in the trial's root.
const reporterPath = "/capgen-trial-report"

// ServeReport makes the running program a trial reporter: when its
// arguments are exactly [ReportArg] it writes the capability sets of its
// process to stdout and exits; otherwise it returns. capgen and capshim
// call it first thing in main, which makes their statically linked builds
// reporters for [Prober.Reporter].
func ServeReport() {
	if len(os.Args) != 2 || os.Args[1] != ReportArg {
		return
	}
	if err := writeReport(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "capgen trial report:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// writeReport writes the capability lines of /proc/self/status and
// reportEnd to w.
func writeReport(w io.Writer) error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	var out bytes.Buffer
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "Cap") {
			out.WriteString(line)
		}
	}
	out.WriteString(reportEnd + "\n")
	_, err = w.Write(out.Bytes())
	return err
}

// errNoReporter is wrapped by the reasons no reporter can be used.
var errNoReporter = errors.New("no reporter for a trial inside the container")

// reporter returns the reporter executable of p: Reporter, else the
// running executable, which must be statically linked to run in the
// trial's empty root.
func (p *Prober) reporter() (string, error) {
	path := p.Reporter
	if path == "" {
		self, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("%w: %w", errNoReporter, err)
		}
		path = self
	}
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errNoReporter, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%w: %s is dynamically linked (build it with CGO_ENABLED=0)", errNoReporter, path)
		}
	}
	return path, nil
}

// readReport reads a reporter's output from r up to reportEnd and returns
// the status lines before it.
func readReport(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	chunk := make([]byte, 512)
	for buf.Len() < 4096 {
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		if before, _, found := bytes.Cut(buf.Bytes(), []byte(reportEnd+"\n")); found {
			return before, nil
		}
		if err != nil {
			return nil, fmt.Errorf("the reporter in the container wrote no report (%q): %w", printable(buf.String()), err)
		}
	}
	return nil, fmt.Errorf("the reporter in the container wrote more than a report: %q", printable(buf.String()))
}

// parseSets reads the bounding, effective and permitted sets from the
// lines of a /proc/PID/status, which name says where they came from.
func parseSets(data []byte, name string) (plugin.Sets, error) {
	var sets plugin.Sets
	fields := map[string]*capnames.Set{"CapBnd:": &sets.Bounding, "CapEff:": &sets.Effective, "CapPrm:": &sets.Permitted}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, value, ok := bytes.Cut(sc.Bytes(), []byte("\t"))
		dst, want := fields[string(key)]
		if !ok || !want {
			continue
		}
		var err error
		if *dst, err = capnames.ParseBitmap(string(bytes.TrimSpace(value))); err != nil {
			return plugin.Sets{}, fmt.Errorf("%s: %s: %w", name, key, err)
		}
		seen++
	}
	if seen != len(fields) {
		return plugin.Sets{}, fmt.Errorf("%s: want CapBnd, CapEff and CapPrm once each", name)
	}
	return sets, nil
}
