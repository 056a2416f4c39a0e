package gen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalidHeader is wrapped by every error about the content of a
// capability header.
var ErrInvalidHeader = errors.New("invalid capability header")

const (
	// MaxHeaderSize is the largest header ParseHeader accepts. Real headers
	// are under 20 KiB; the limit keeps a wrong file from using much memory.
	MaxHeaderSize = 4 << 20

	// maxLineLen is the longest physical line accepted. Real headers have no
	// line longer than a few hundred bytes.
	maxLineLen = 64 << 10

	// maxCapValue is the largest capability number: kernel_cap_t has 64 bits.
	maxCapValue = 63

	lastCapName = "CAP_LAST_CAP"
)

// Header is a parsed capability header. It marshals to the JSON of
// `capgen parse --json`.
type Header struct {
	File    string `json:"file"`
	Version string `json:"version"` // kernel version, "" if unknown
	// Last is the value of CAP_LAST_CAP, or the largest value when the header
	// has none (before 2.6.25).
	Last int `json:"last"`
	// Capabilities is sorted by value.
	Capabilities []Capability `json:"capabilities"`
	// Aliases maps each alias define to the capability name it resolves to,
	// e.g. "CAP_LAST_CAP": "CAP_CHECKPOINT_RESTORE". Never nil.
	Aliases map[string]string `json:"aliases"`
	// Warnings are doubts that do not make the header wrong, such as gaps in
	// the numbering. Never nil.
	Warnings []string `json:"warnings"`
}

// Capability is one capability a header defines.
type Capability struct {
	Name  string `json:"name"`
	Value int    `json:"value"`
	Line  int    `json:"-"` // 1-based line of its #define
}

// HeaderError is the error ParseHeader returns for a wrong header. It
// unwraps to [ErrInvalidHeader].
type HeaderError struct {
	File string
	Line int    // 1-based line the error is about; 0 for the whole file
	Msg  string // the reason; it names the other line when there are two
}

// Error returns "FILE:LINE: invalid capability header: REASON", without
// the line for an error about the whole file.
func (e *HeaderError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v: %s", e.File, ErrInvalidHeader, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %v: %s", e.File, e.Line, ErrInvalidHeader, e.Msg)
}

// Unwrap returns [ErrInvalidHeader], so that errors.Is matches it.
func (e *HeaderError) Unwrap() error { return ErrInvalidHeader }

// ParseHeader parses the capability header src. The file name is used in
// Header.File and in errors; Header.Version is left empty.
func ParseHeader(file string, src []byte) (*Header, error) {
	if len(src) > MaxHeaderSize {
		return nil, &HeaderError{File: file, Msg: fmt.Sprintf("%d bytes, larger than the %d-byte limit", len(src), MaxHeaderSize)}
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, &HeaderError{File: file, Msg: "empty file"}
	}
	if line, msg := checkLines(src); msg != "" {
		return nil, &HeaderError{File: file, Line: line, Msg: msg}
	}
	dirs, err := directives(src)
	if err != nil {
		return nil, &HeaderError{File: file, Line: err.line, Msg: err.msg}
	}
	p := &parser{file: file, defs: make(map[string]*define)}
	for _, d := range dirs {
		if err := p.directive(d); err != nil {
			return nil, err
		}
	}
	return p.finish()
}

// ReadHeader reads and parses the capability header at path. Header.Version
// is version if it is not empty, else the version in a version.h beside the
// file (as in /usr/include/linux), else "".
func ReadHeader(path, version string) (*Header, error) {
	if version != "" {
		if err := checkVersion(version); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	src, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	h, err := ParseHeader(path, src)
	if err != nil {
		return nil, err
	}
	if version == "" {
		version, err = versionBeside(path)
		if err != nil {
			return nil, err
		}
	}
	h.Version = version
	return h, nil
}

// versionBeside returns the version in the version.h in the directory of
// path, or "" if there is none.
func versionBeside(path string) (string, error) {
	vpath := filepath.Join(filepath.Dir(path), "version.h")
	src, err := readLimited(vpath)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	v, err := VersionFromVersionH(src)
	if err != nil {
		return "", fmt.Errorf("%s: %w", vpath, err)
	}
	return v, nil
}

// readLimited reads the file at path, failing on files larger than
// MaxHeaderSize without reading them whole.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxHeaderSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(src) > MaxHeaderSize {
		return nil, &HeaderError{File: path, Msg: fmt.Sprintf("larger than the %d-byte limit", MaxHeaderSize)}
	}
	return src, nil
}

// checkLines checks the physical lines of src for what no header has: NUL
// bytes, overlong lines and merge-conflict markers. It returns the first
// offending line and the reason, or "" if there is none.
func checkLines(src []byte) (int, string) {
	for n := 1; len(src) > 0; n++ {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		switch {
		case bytes.IndexByte(line, 0) >= 0:
			return n, "NUL byte: binary data, not a C header"
		case len(line) > maxLineLen:
			return n, fmt.Sprintf("line is %d bytes long, more than the %d-byte limit", len(line), maxLineLen)
		case isConflictMarker(line):
			return n, fmt.Sprintf("merge conflict marker %s", quote(string(line)))
		}
	}
	return 0, ""
}

// isConflictMarker reports whether line is one of Git's conflict markers:
// seven '<', '|', '=' or '>' at the start of the line, then the end of the
// line or a space.
func isConflictMarker(line []byte) bool {
	const n = 7
	if len(line) < n || !strings.ContainsRune("<|=>", rune(line[0])) {
		return false
	}
	for _, c := range line[1:n] {
		if c != line[0] {
			return false
		}
	}
	return len(line) == n || line[n] == ' ' || line[n] == '\t' || line[n] == '\r'
}

// quote quotes s for an error message, shortening it so that a 1 MiB value
// does not make a 1 MiB message.
func quote(s string) string {
	const maxQuoted = 40
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return strconv.Quote(s)
}

// defKind is what a #define CAP_... means for the numbering.
type defKind int

const (
	defOther  defKind = iota // not a capability: CAP_FS_MASK 0x1f, CAP_EMPTY_SET ...
	defNumber                // #define CAP_NAME <decimal>
	defAlias                 // #define CAP_NAME CAP_OTHER
)

// define is one object-like #define of a CAP_ name.
type define struct {
	name   string
	line   int
	kind   defKind
	value  int    // defNumber
	target string // defAlias
	text   string // the replacement text, for messages
	cond   []arm  // the conditional arms it stands in
	alts   []*define
}

// arm is one arm (#if, #elif or #else part) of a conditional group.
type arm struct{ group, index int }

// exclusive reports whether the defines can never both be in effect: they
// stand in different arms of one conditional group.
func exclusive(a, b []arm) bool {
	for _, x := range a {
		for _, y := range b {
			if x.group == y.group && x.index != y.index {
				return true
			}
		}
	}
	return false
}

// parser collects the CAP_ defines of one header.
type parser struct {
	file     string
	defs     map[string]*define // first definition of each CAP_ name
	order    []*define          // first definitions in line order
	byValue  [maxCapValue + 1]*define
	cond     []arm // open conditional arms, innermost last
	groups   int
	warnings []string
	resolved map[*define]*define // memo of resolve
}

func (p *parser) errorf(line int, format string, args ...any) error {
	return &HeaderError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// at names a line of the file, for messages about a second line.
func (p *parser) at(line int) string { return fmt.Sprintf("%s:%d", p.file, line) }

func (p *parser) warnf(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

// directive handles one preprocessor directive.
func (p *parser) directive(d directive) error {
	word, rest := cutIdent(strings.TrimLeft(d.text, " \t\f\v\r"))
	switch word {
	case "if", "ifdef", "ifndef":
		p.groups++
		p.cond = append(p.cond, arm{group: p.groups})
	case "elif", "elifdef", "elifndef", "else":
		if n := len(p.cond); n > 0 {
			p.cond[n-1].index++
		}
	case "endif":
		if n := len(p.cond); n > 0 {
			p.cond = p.cond[:n-1]
		}
	case "define":
		return p.define(d.line, rest)
	}
	return nil
}

// define handles the text after "#define".
func (p *parser) define(line int, text string) error {
	name, rest := cutIdent(strings.TrimLeft(text, " \t\f\v\r"))
	if !strings.HasPrefix(name, "CAP_") || len(name) == len("CAP_") || strings.HasPrefix(rest, "(") {
		return nil // not a CAP_ name, or a function-like macro
	}
	d := &define{name: name, line: line, text: strings.Trim(rest, " \t\f\v\r"), cond: slices.Clone(p.cond)}
	switch {
	case isDecimal(d.text):
		v, err := capValue(d.text)
		if err != nil {
			return p.errorf(line, "%s: %v", name, err)
		}
		d.kind, d.value = defNumber, v
	case isIdent(d.text) && strings.HasPrefix(d.text, "CAP_"):
		d.kind, d.target = defAlias, d.text
	}
	if prev := p.defs[name]; prev != nil {
		return p.redefine(prev, d)
	}
	if d.kind == defNumber && name != lastCapName {
		if !isCapName(name) {
			return p.errorf(line, "%s: a capability name is CAP_ and upper-case letters, digits and '_', not all digits, at most %d bytes", quote(name), maxCapNameLen)
		}
		if prev := p.byValue[d.value]; prev != nil {
			return p.errorf(line, "%s and %s (%s) both have value %d", name, prev.name, p.at(prev.line), d.value)
		}
		p.byValue[d.value] = d
	}
	p.defs[name] = d
	p.order = append(p.order, d)
	return nil
}

// redefine handles a second definition d of the name prev defines.
func (p *parser) redefine(prev, d *define) error {
	switch {
	case prev.kind == defOther && d.kind == defOther:
		return nil // neither says anything about the numbering
	case prev.kind == d.kind && prev.text == d.text:
		if exclusive(prev.cond, d.cond) {
			return nil
		}
		p.warnf("%s is defined twice with the same value %s, at lines %d and %d", d.name, d.text, prev.line, d.line)
		return nil
	case prev.kind == defAlias && d.kind == defAlias && exclusive(prev.cond, d.cond):
		prev.alts = append(prev.alts, d)
		return nil
	}
	return p.errorf(d.line, "%s is defined as %s, but as %s at %s", d.name, quote(d.text), quote(prev.text), p.at(prev.line))
}

// finish resolves aliases, checks CAP_LAST_CAP and builds the Header.
func (p *parser) finish() (*Header, error) {
	h := &Header{File: p.file, Aliases: make(map[string]string)}
	for _, d := range p.byValue {
		if d != nil {
			h.Capabilities = append(h.Capabilities, Capability{Name: d.name, Value: d.value, Line: d.line})
		}
	}
	if len(h.Capabilities) == 0 {
		return nil, &HeaderError{File: p.file, Msg: "no capability defined (no #define CAP_<NAME> <decimal>)"}
	}
	largest := h.Capabilities[len(h.Capabilities)-1]
	for _, d := range p.order {
		if d.kind != defAlias {
			continue
		}
		c, err := p.resolve(d, 0)
		if err != nil {
			return nil, err
		}
		if c != nil {
			h.Aliases[d.name] = c.name
		}
	}
	last, err := p.last(h.Aliases)
	if err != nil {
		return nil, err
	}
	switch {
	case last == nil:
		p.warnf("no %s (as before Linux 2.6.25): the last capability is the largest, %s (%d)", lastCapName, largest.Name, largest.Value)
		h.Last = largest.Value
	case last.value != largest.Value:
		d := p.defs[lastCapName]
		return nil, p.errorf(d.line, "%s is %s (%d), but the largest capability is %s (%d) at %s",
			lastCapName, last.name, last.value, largest.Name, largest.Value, p.at(largest.Line))
	default:
		h.Last = last.value
	}
	p.warnGaps(h.Capabilities)
	h.Warnings = p.warnings
	if h.Warnings == nil {
		h.Warnings = []string{}
	}
	return h, nil
}

// maxAliasDepth bounds alias chains; real headers have chains of one.
const maxAliasDepth = 16

// resolve returns the capability the alias d names, following chains. It
// returns nil, nil when d is not an alias of a capability: it names a macro
// that is not one (CAP_INIT_INH_SET CAP_EMPTY_SET), or it names different
// capabilities in different arms of a conditional (reported as a warning).
// Results are memoised, so that aliases redefined in many arms cost no more
// than a pass over their definitions.
func (p *parser) resolve(d *define, depth int) (*define, error) {
	if c, ok := p.resolved[d]; ok {
		return c, nil
	}
	if depth > maxAliasDepth {
		return nil, p.errorf(d.line, "%s: alias chain longer than %d (a cycle?)", d.name, maxAliasDepth)
	}
	var found *define
	switch d.kind {
	case defNumber:
		found = d
		if d.name == lastCapName {
			found = p.byValue[d.value] // nil is reported by last
		}
	case defAlias:
		var err error
		if found, err = p.resolveAlias(d, depth); err != nil {
			return nil, err
		}
	}
	if p.resolved == nil {
		p.resolved = make(map[*define]*define)
	}
	p.resolved[d] = found
	return found, nil
}

// resolveAlias resolves every definition of the alias d.
func (p *parser) resolveAlias(d *define, depth int) (*define, error) {
	var found *define
	for i, alt := range append([]*define{d}, d.alts...) {
		t := p.defs[alt.target]
		if t == nil {
			return nil, p.errorf(alt.line, "%s names undefined capability %s", alt.name, alt.target)
		}
		c, err := p.resolve(t, depth+1)
		if err != nil {
			return nil, err
		}
		if c == nil || (i > 0 && c != found) {
			if len(d.alts) > 0 {
				p.warnf("%s names different capabilities under different preprocessor conditions (lines %d and %d); not recorded as an alias",
					d.name, d.line, d.alts[0].line)
			}
			return nil, nil
		}
		found = c
	}
	return found, nil
}

// last returns the capability CAP_LAST_CAP stands for, nil if the header
// has no CAP_LAST_CAP.
func (p *parser) last(aliases map[string]string) (*define, error) {
	d := p.defs[lastCapName]
	switch {
	case d == nil:
		return nil, nil
	case d.kind == defNumber:
		c := p.byValue[d.value]
		if c == nil {
			return nil, p.errorf(d.line, "%s names undefined capability %d", lastCapName, d.value)
		}
		aliases[lastCapName] = c.name
		return c, nil
	case d.kind == defAlias && aliases[lastCapName] != "":
		return p.defs[aliases[lastCapName]], nil
	}
	return nil, p.errorf(d.line, "%s is %s, which does not resolve to one capability", lastCapName, quote(d.text))
}

// warnGaps warns about the numbers below the largest that no capability
// has. caps is sorted by value.
func (p *parser) warnGaps(caps []Capability) {
	next := 0
	for _, c := range caps {
		switch {
		case c.Value == next+1:
			p.warnf("capability %d is not defined", next)
		case c.Value > next+1:
			p.warnf("capabilities %d..%d are not defined", next, c.Value-1)
		}
		next = c.Value + 1
	}
}

// capValue parses the decimal digits s as a capability number.
func capValue(s string) (int, error) {
	switch {
	case len(s) > 1 && s[0] == '0':
		// C reads a leading zero as octal; no header writes numbers that way,
		// and guessing wrong would shift a capability, so it is rejected.
		return 0, fmt.Errorf("value %s has a leading zero (octal in C)", quote(s))
	case len(s) > 2:
		return 0, fmt.Errorf("value %s is outside 0..%d", quote(s), maxCapValue)
	}
	v, _ := strconv.Atoi(s) // one or two digits: cannot fail
	if v > maxCapValue {
		return 0, fmt.Errorf("value %d is outside 0..%d", v, maxCapValue)
	}
	return v, nil
}

// maxCapNameLen is the longest capability name capnames.Parse can match;
// a longer one would be a table entry nobody can ask for.
const maxCapNameLen = 64

// isCapName reports whether name is a capability name capnames accepts in a
// table: CAP_ followed by upper-case letters, digits and '_', not all
// digits (which would read as a numeral), at most 64 bytes in all.
func isCapName(name string) bool {
	rest, ok := strings.CutPrefix(name, "CAP_")
	if !ok || rest == "" || len(name) > maxCapNameLen || isDecimal(rest) {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c != '_' && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
