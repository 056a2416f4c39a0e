package gen

import "bytes"

// This file reads C source as the preprocessor's first translation phases
// do, as far as capability headers and version.h need: it joins continued
// lines, drops comments and splits out the directives.

// directive is one preprocessor directive, with continued lines joined and
// comments replaced by a space.
type directive struct {
	line int    // 1-based line of its '#'
	text string // what follows the '#'
}

// scanError is an error of directives, for a HeaderError.
type scanError struct {
	line int
	msg  string
}

// directives returns the preprocessor directives of the C source src. As in
// C translation phases 2 and 3, a backslash-newline joins two lines and a
// comment, even one spanning lines, is one space; string and character
// literals are skipped so that "/*" in one starts no comment.
func directives(src []byte) ([]directive, *scanError) {
	var (
		out   []directive
		buf   []byte // the current logical line
		line  = 1    // the current physical line
		first = 0    // line of the first non-blank byte of buf, 0 if none
	)
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\' && (hasPrefixAt(src, i+1, "\n") || hasPrefixAt(src, i+1, "\r\n")):
			i = bytes.IndexByte(src[i:], '\n') + i
			line++
		case c == '\n':
			if len(buf) > 0 && buf[0] == '#' {
				out = append(out, directive{line: first, text: string(buf[1:])})
			}
			buf, first = buf[:0], 0
			line++
		case c == '/' && hasPrefixAt(src, i+1, "*"):
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return nil, &scanError{line: line, msg: "comment is not terminated"}
			}
			line += bytes.Count(src[i:i+2+end], []byte("\n"))
			i += 2 + end + 1
			buf = appendSpace(buf)
		case c == '/' && hasPrefixAt(src, i+1, "/"):
			end := lineCommentEnd(src, i)
			line += bytes.Count(src[i:end], []byte("\n"))
			i = end - 1
			buf = appendSpace(buf)
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			buf = appendSpace(buf)
		default:
			if first == 0 {
				first = line
			}
			if c == '"' || c == '\'' {
				n := literalLen(src[i:])
				buf = append(buf, src[i:i+n]...)
				i += n - 1
				continue
			}
			buf = append(buf, c)
		}
	}
	if len(buf) > 0 && buf[0] == '#' {
		out = append(out, directive{line: first, text: string(buf[1:])})
	}
	return out, nil
}

func hasPrefixAt(src []byte, i int, prefix string) bool {
	return i <= len(src) && bytes.HasPrefix(src[i:], []byte(prefix))
}

// appendSpace appends one space to a logical line, but none at its start
// and none after another, so that a directive's '#' is always buf[0].
func appendSpace(buf []byte) []byte {
	if len(buf) == 0 || buf[len(buf)-1] == ' ' {
		return buf
	}
	return append(buf, ' ')
}

// lineCommentEnd returns the index of the newline that ends the // comment
// at src[i:], or len(src). A backslash-newline continues the comment.
func lineCommentEnd(src []byte, i int) int {
	for {
		j := bytes.IndexByte(src[i:], '\n')
		if j < 0 {
			return len(src)
		}
		i += j
		if !bytes.HasSuffix(bytes.TrimSuffix(src[:i], []byte("\r")), []byte("\\")) {
			return i
		}
		i++
	}
}

// literalLen returns the length of the string or character literal at the
// start of s, up to its closing quote; an unterminated literal ends before
// the end of the line.
func literalLen(s []byte) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case s[0]:
			return i + 1
		case '\n':
			return i
		case '\\':
			if i+1 < len(s) && (s[i+1] == '\n' || s[i+1] == '\r') {
				return i
			}
			i++
		}
	}
	return len(s)
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
}

func isIdent(s string) bool {
	name, rest := cutIdent(s)
	return name != "" && rest == ""
}

// cutIdent splits s into a leading C identifier and the rest.
func cutIdent(s string) (ident, rest string) {
	i := 0
	for i < len(s) && isIdentByte(s[i], i == 0) {
		i++
	}
	return s[:i], s[i:]
}
