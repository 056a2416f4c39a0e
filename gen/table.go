package gen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
)

// Table is the language-neutral capability table that capnames/capabilities.json
// stores and from which the Go table is generated.
type Table struct {
	// Kernel is the version of the newest kernel header the table was
	// generated from.
	Kernel string `json:"kernel"`
	// Capabilities are sorted by value.
	Capabilities []Entry `json:"capabilities"`
}

// Entry is one capability of a Table.
type Entry struct {
	Name  string `json:"name"`
	Value int    `json:"value"`
	// Since is the first kernel release that defined the capability, or ""
	// when no source says.
	Since string `json:"since"`
}

// ErrInvalidTableFile is wrapped by the errors about a malformed table file
// (capabilities.json) or a table with nothing to emit; capnames.ErrInvalidTable
// is about a table built in memory.
var ErrInvalidTableFile = errors.New("invalid capability table file")

// ReadTable reads a table written by [Table.MarshalIndent].
func ReadTable(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeTable(path, b)
}

// DecodeTable decodes and checks a table; name is used in messages.
func DecodeTable(name string, b []byte) (*Table, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var t Table
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrInvalidTableFile, err)
	}
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrInvalidTableFile, err)
	}
	return &t, nil
}

// check enforces what the generated code relies on: canonical unique names,
// unique values in 0..63 in ascending order, and well-formed versions.
func (t *Table) check() error {
	if t.Kernel != "" && !validVersion(t.Kernel) {
		return fmt.Errorf("kernel version %q is not dotted decimal", t.Kernel)
	}
	names := make(map[string]bool, len(t.Capabilities))
	for i, e := range t.Capabilities {
		switch {
		case !isCapName(e.Name):
			return fmt.Errorf("%q is not a capability name", e.Name)
		case names[e.Name]:
			return fmt.Errorf("%s appears twice", e.Name)
		case e.Value < 0 || e.Value > maxCapValue:
			return fmt.Errorf("%s: value %d outside 0..%d", e.Name, e.Value, maxCapValue)
		case i > 0 && e.Value <= t.Capabilities[i-1].Value:
			return fmt.Errorf("%s (%d) follows %s (%d): values must ascend", e.Name, e.Value,
				t.Capabilities[i-1].Name, t.Capabilities[i-1].Value)
		case e.Since != "" && !validVersion(e.Since):
			return fmt.Errorf("%s: since %q is not dotted decimal", e.Name, e.Since)
		}
		names[e.Name] = true
	}
	return nil
}

// MarshalIndent returns the table as capabilities.json stores it: indented,
// one capability a line, ending in a newline. The bytes depend on the table
// alone.
func (t *Table) MarshalIndent() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\n  \"kernel\": %s,\n  \"capabilities\": [\n", strconv.Quote(t.Kernel))
	for i, e := range t.Capabilities {
		sep := ","
		if i == len(t.Capabilities)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "    {\"name\": %s, \"value\": %d, \"since\": %s}%s\n",
			strconv.Quote(e.Name), e.Value, strconv.Quote(e.Since), sep)
	}
	b.WriteString("  ]\n}\n")
	return b.Bytes()
}

// Lookup returns the entry named name.
func (t *Table) Lookup(name string) (Entry, bool) {
	i := slices.IndexFunc(t.Capabilities, func(e Entry) bool { return e.Name == name })
	if i < 0 {
		return Entry{}, false
	}
	return t.Capabilities[i], true
}
