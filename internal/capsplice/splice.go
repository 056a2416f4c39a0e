// Package capsplice writes rewritten capability lists back into the text
// of a runtime spec: only the text of each list that changed is replaced,
// so members the rewriting program's runtime-spec version does not know,
// spacing and key order stay byte for byte. The runtime shim writes a
// bundle's config.json so, and the precreate hook its output.
package capsplice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// listKeys are the members of process.capabilities, as runtime-spec
// names them.
var listKeys = []string{"bounding", "effective", "inheritable", "permitted", "ambient"}

func listsOf(c *specs.LinuxCapabilities) map[string][]string {
	if c == nil {
		return map[string][]string{}
	}
	return map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "inheritable": c.Inheritable,
		"permitted": c.Permitted, "ambient": c.Ambient}
}

// Changed returns the lists of after that differ from before; a
// missing list and an empty one are the same.
func Changed(before, after *specs.LinuxCapabilities) map[string][]string {
	b, a := listsOf(before), listsOf(after)
	changed := map[string][]string{}
	for _, k := range listKeys {
		if !slices.Equal(b[k], a[k]) && (len(b[k]) > 0 || len(a[k]) > 0) {
			changed[k] = a[k]
		}
	}
	return changed
}

// span is the text of one JSON value in a document.
type span struct{ start, end int64 }

// Splice returns data, a JSON object, with the value of each list of
// lists replaced by the list's JSON text: the lists are members of the
// object reached from the top through the keys of path. Keys match as
// encoding/json matches field names (case-insensitively), and every
// occurrence of a key is replaced, since decoding takes the last one.
// Nothing else in data changes, byte for byte. It fails when a list to
// write has no member to replace.
func Splice(data []byte, path []string, lists map[string][]string) ([]byte, error) {
	found := map[string][]span{}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	if err := scanObject(dec, data, path, found); err != nil {
		return nil, err
	}
	type edit struct {
		span
		text []byte
	}
	var edits []edit
	for key, list := range lists {
		spans := found[key]
		if len(spans) == 0 {
			return nil, fmt.Errorf("no member %q to write the rewritten list into", key)
		}
		text, err := json.Marshal(list)
		if err != nil {
			return nil, err
		}
		for _, s := range spans {
			edits = append(edits, edit{s, text})
		}
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out := slices.Clone(data)
	for _, e := range edits {
		out = slices.Concat(out[:e.start], e.text, out[e.end:])
	}
	return out, nil
}

// scanObject reads the members of an object whose '{' dec has read, down
// path; at its end it records the spans of the capability lists.
func scanObject(dec *json.Decoder, data []byte, path []string, found map[string][]span) error {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("object key %v is not a string", tok)
		}
		switch {
		case len(path) > 0 && bytes.EqualFold([]byte(key), []byte(path[0])):
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			if d, ok := tok.(json.Delim); ok && d == '{' {
				if err := scanObject(dec, data, path[1:], found); err != nil {
					return err
				}
				continue
			}
			if err := skipRest(dec, tok); err != nil {
				return err
			}
		case len(path) == 0 && slices.ContainsFunc(listKeys, func(k string) bool { return bytes.EqualFold([]byte(key), []byte(k)) }):
			s, err := valueSpan(dec, data)
			if err != nil {
				return err
			}
			canonical := listKeys[slices.IndexFunc(listKeys, func(k string) bool { return bytes.EqualFold([]byte(key), []byte(k)) })]
			found[canonical] = append(found[canonical], s)
		default:
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			if err := skipRest(dec, tok); err != nil {
				return err
			}
		}
	}
	_, err := dec.Token() // the closing '}'
	return err
}

// valueSpan reads the value of the member whose key dec has just read and
// returns where the value's text is in data.
func valueSpan(dec *json.Decoder, data []byte) (span, error) {
	start := dec.InputOffset() // just after the key
	for start < int64(len(data)) && bytes.IndexByte([]byte(" \t\r\n:"), data[start]) >= 0 {
		start++
	}
	tok, err := dec.Token()
	if err != nil {
		return span{}, err
	}
	if err := skipRest(dec, tok); err != nil {
		return span{}, err
	}
	return span{start: start, end: dec.InputOffset()}, nil
}

// skipRest reads the rest of the value whose first token is tok.
func skipRest(dec *json.Decoder, tok json.Token) error {
	d, ok := tok.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return errors.New("empty document")
	}
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("not a JSON object")
	}
	return nil
}
