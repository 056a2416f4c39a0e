package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/capgen-dev/capgen/capnames"
)

type config struct {
	expect, work, busybox       string
	runtimes, podmans, buildahs named
}

// A measured row is a row of the table: one result per build.
type measured struct {
	engine, name, runtime string
	results               []result
}

// run measures every case, prints the table and reports whether every
// cell is what the expectation file says.
func run(cfg config, w io.Writer) (bool, error) {
	all, err := hostAll()
	if err != nil {
		return false, err
	}
	exp, err := readExpectation(cfg.expect, all)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(cfg.work, 0o755); err != nil {
		return false, err
	}
	h, err := newHost(cfg.work)
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(cfg.work)
	defer h.cleanup(cfg.podmans, cfg.buildahs)
	if err := h.importImages(cfg.podmans[0].path, cfg.busybox); err != nil {
		return false, err
	}
	rows := measureAll(h, cfg)
	ok, err := compare(exp, rows, w)
	if err != nil {
		return false, err
	}
	printTable(w, cfg, exp, rows)
	return ok, nil
}

// hostAll is the running kernel's capabilities within this process's
// bounding set.
func hostAll() (capnames.Set, error) {
	last, err := capnames.KernelLast()
	if err != nil {
		return 0, err
	}
	bounding, err := capnames.Bounding()
	if err != nil {
		return 0, err
	}
	return capnames.UpTo(last).Intersect(bounding), nil
}

func measureAll(h *host, cfg config) []measured {
	var rows []measured
	for _, c := range podmanCases {
		for _, rt := range cfg.runtimes {
			m := measured{engine: "podman", name: c.name, runtime: rt.name}
			for _, b := range cfg.podmans {
				m.results = append(m.results, h.podman(b.path, c, rt.path))
			}
			rows = append(rows, m)
		}
	}
	for _, c := range buildahCases {
		rts := cfg.runtimes
		if c.chroot {
			rts = named{{name: "-"}}
		}
		for _, rt := range rts {
			m := measured{engine: "buildah", name: c.name, runtime: rt.name}
			for _, b := range cfg.buildahs {
				m.results = append(m.results, h.buildah(b.path, c, rt.path))
			}
			rows = append(rows, m)
		}
	}
	return rows
}

// compare checks every measured row against its expectation, printing
// each mismatch, and fails on rows either side lacks and on differences
// without a reason.
func compare(exp *expectation, rows []measured, w io.Writer) (bool, error) {
	byKey := map[string]row{}
	for _, r := range exp.rows {
		byKey[r.engine+"\x00"+r.name+"\x00"+r.runtime] = r
	}
	ok := true
	for _, m := range rows {
		key := m.engine + "\x00" + m.name + "\x00" + m.runtime
		r, found := byKey[key]
		if !found {
			return false, fmt.Errorf("%w: no row for %s | %s | %s", errExpect, m.engine, m.name, m.runtime)
		}
		delete(byKey, key)
		if len(r.cells) != len(m.results) {
			return false, fmt.Errorf("%w: line %d: %d cells for %d builds", errExpect, r.line, len(r.cells), len(m.results))
		}
		for i, cell := range r.cells {
			if i > 0 && cell != r.cells[0] && r.reason == "" {
				return false, fmt.Errorf("%w: line %d: builds differ without a reason", errExpect, r.line)
			}
			match, err := exp.matches(cell, m.results[i])
			if err != nil {
				return false, fmt.Errorf("line %d: %w", r.line, err)
			}
			if !match {
				ok = false
				fmt.Fprintf(w, "MISMATCH %s | %s | %s, build %d: got %s, want %s\n", m.engine, m.name, m.runtime, i+1, m.results[i], cell)
			}
		}
	}
	for _, r := range byKey {
		return false, fmt.Errorf("%w: line %d: no such case: %s | %s | %s", errExpect, r.line, r.engine, r.name, r.runtime)
	}
	return ok, nil
}

// printTable prints the measured rows as the Markdown tables docs/engine-patches.md
// quotes, one per engine, with the reasons.
func printTable(w io.Writer, cfg config, exp *expectation, rows []measured) {
	reasons := map[string]string{}
	for _, r := range exp.rows {
		reasons[r.engine+"\x00"+r.name+"\x00"+r.runtime] = r.reason
	}
	for _, engine := range []struct {
		name   string
		builds named
	}{{"podman", cfg.podmans}, {"buildah", cfg.buildahs}} {
		fmt.Fprintln(w)
		head := []string{"case", "runtime"}
		for _, b := range engine.builds {
			head = append(head, b.name)
		}
		head = append(head, "why they differ")
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
		for _, m := range rows {
			if m.engine != engine.name {
				continue
			}
			cells := []string{"`" + m.name + "`", m.runtime}
			for _, r := range m.results {
				cells = append(cells, strings.ReplaceAll(r.String(), "|", `\|`))
			}
			cells = append(cells, reasons[m.engine+"\x00"+m.name+"\x00"+m.runtime])
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
	}
}
