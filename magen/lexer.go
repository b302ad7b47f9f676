package magen

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// lexer splits a .magen source into tokens. It skips white space and //
// comments, remembering comment lines that stand alone directly above a
// token as that token's doc. Errors go to errs; the lexer never stops early.
type lexer struct {
	filename string
	src      []byte
	errs     *ErrorList

	off  int // offset of the next unread byte
	line int
	col  int

	// lastTokLine is the line of the last token returned, so a comment can
	// tell whether it trails code.
	lastTokLine int
	// doc collects stand-alone comment lines; docEnd is the line of the last.
	doc    []string
	docEnd int
}

func newLexer(filename string, src []byte, errs *ErrorList) *lexer {
	lx := &lexer{filename: filename, src: src, errs: errs, line: 1, col: 1}
	// A byte order mark is allowed at the very start and ignored.
	if len(src) >= 3 && src[0] == 0xEF && src[1] == 0xBB && src[2] == 0xBF {
		lx.off = 3
	}
	return lx
}

func (lx *lexer) pos() Position {
	return Position{Filename: lx.filename, Offset: lx.off, Line: lx.line, Column: lx.col}
}

func (lx *lexer) errorf(pos Position, format string, args ...any) {
	lx.errs.Addf(pos, format, args...)
}

// advance moves past n bytes that contain no newline.
func (lx *lexer) advance(n int) {
	lx.off += n
	lx.col += n
}

func (lx *lexer) newline() {
	lx.off++
	lx.line++
	lx.col = 1
}

// next returns the next token.
func (lx *lexer) next() token {
	for {
		lx.skipSpace()
		if lx.off >= len(lx.src) {
			return lx.finish(token{kind: tokEOF, pos: lx.pos(), end: lx.pos()})
		}
		if lx.peekComment() {
			lx.comment()
			continue
		}
		if t, ok := lx.scan(); ok {
			return lx.finish(t)
		}
	}
}

// finish attaches the doc comment, if it ends on the line above t.
func (lx *lexer) finish(t token) token {
	if len(lx.doc) > 0 && lx.docEnd == t.pos.Line-1 {
		t.doc = lx.doc
	}
	lx.doc, lx.docEnd = nil, 0
	lx.lastTokLine = t.end.Line
	return t
}

func (lx *lexer) skipSpace() {
	for lx.off < len(lx.src) {
		switch lx.src[lx.off] {
		case ' ', '\t', '\r':
			lx.advance(1)
		case '\n':
			lx.newline()
		default:
			return
		}
	}
}

func (lx *lexer) peekComment() bool {
	return lx.src[lx.off] == '/' && lx.off+1 < len(lx.src) && lx.src[lx.off+1] == '/'
}

// comment consumes a // comment up to (not including) the newline.
func (lx *lexer) comment() {
	line := lx.line
	start := lx.off + 2
	end := start
	for end < len(lx.src) && lx.src[end] != '\n' {
		end++
	}
	text := strings.TrimSuffix(string(lx.src[start:end]), "\r")
	if !utf8.ValidString(text) {
		lx.errorf(lx.pos(), "comment is not valid UTF-8 (files must be UTF-8)")
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	lx.advance(end - lx.off)
	if lx.lastTokLine == line {
		// A trailing comment documents nothing and breaks a doc block.
		lx.doc, lx.docEnd = nil, 0
		return
	}
	if len(lx.doc) == 0 || lx.docEnd != line-1 {
		lx.doc = nil
	}
	lx.doc = append(lx.doc, text)
	lx.docEnd = line
}

var punctuation = map[byte]tokenKind{
	'{': tokLBrace, '}': tokRBrace, '(': tokLParen, ')': tokRParen,
	'<': tokLAngle, '>': tokRAngle, ';': tokSemi, ',': tokComma,
	'@': tokAt, '.': tokDot, '[': tokLBrack, ']': tokRBrack, '=': tokEquals,
}

// scan reads one token at the current offset. It reports false after an
// illegal character it has reported and skipped.
func (lx *lexer) scan() (token, bool) {
	pos := lx.pos()
	c := lx.src[lx.off]
	switch {
	case isLetter(c):
		n := 1
		for lx.off+n < len(lx.src) && (isLetter(lx.src[lx.off+n]) || isDigit(lx.src[lx.off+n])) {
			n++
		}
		return lx.token(tokIdent, string(lx.src[lx.off:lx.off+n]), pos, n), true
	case isDigit(c):
		// Letters run on into the number (0x10, 7a), so that the parser
		// can say the whole word is not a decimal number.
		n := 1
		for lx.off+n < len(lx.src) && (isDigit(lx.src[lx.off+n]) || isLetter(lx.src[lx.off+n])) {
			n++
		}
		return lx.token(tokInt, string(lx.src[lx.off:lx.off+n]), pos, n), true
	case c == '"':
		return lx.scanString(pos)
	case c == '=' && lx.off+1 < len(lx.src) && lx.src[lx.off+1] == '>':
		return lx.token(tokArrow, "=>", pos, 2), true
	case c == '/' && lx.off+1 < len(lx.src) && lx.src[lx.off+1] == '*':
		lx.errorf(pos, "block comments are not supported; use // comments")
		lx.skipBlockComment()
		return token{}, false
	}
	if k, ok := punctuation[c]; ok {
		return lx.token(k, string(c), pos, 1), true
	}
	r, size := utf8.DecodeRune(lx.src[lx.off:])
	if r == utf8.RuneError && size == 1 {
		lx.errorf(pos, "illegal byte 0x%02x (files must be UTF-8)", c)
	} else {
		lx.errorf(pos, "illegal character %U %q", r, r)
	}
	lx.advance(size)
	return token{kind: tokIllegal, pos: pos, end: lx.pos()}, true
}

// skipBlockComment skips a /* */ comment, already reported, so that its
// contents cause no more errors.
func (lx *lexer) skipBlockComment() {
	lx.advance(2)
	for lx.off < len(lx.src) {
		switch {
		case lx.src[lx.off] == '\n':
			lx.newline()
		case lx.src[lx.off] == '*' && lx.off+1 < len(lx.src) && lx.src[lx.off+1] == '/':
			lx.advance(2)
			return
		default:
			lx.advance(1)
		}
	}
}

func (lx *lexer) token(k tokenKind, lit string, pos Position, n int) token {
	lx.advance(n)
	return token{kind: k, lit: lit, pos: pos, end: lx.pos()}
}

// scanString reads a double-quoted string on one line, with Go's escapes.
func (lx *lexer) scanString(pos Position) (token, bool) {
	end := lx.off + 1
	for {
		if end >= len(lx.src) || lx.src[end] == '\n' {
			lx.errorf(pos, "string literal not terminated")
			lx.advance(end - lx.off)
			return token{kind: tokIllegal, pos: pos, end: lx.pos()}, true
		}
		if lx.src[end] == '\\' && end+1 < len(lx.src) && lx.src[end+1] != '\n' {
			end += 2
			continue
		}
		if lx.src[end] == '"' {
			end++
			break
		}
		end++
	}
	raw := string(lx.src[lx.off:end])
	n := end - lx.off
	s, err := strconv.Unquote(raw)
	if err != nil {
		lx.errorf(pos, "invalid string literal %s", raw)
		lx.advance(n)
		return token{kind: tokIllegal, pos: pos, end: lx.pos()}, true
	}
	// Columns count bytes, so a multi-byte character inside the literal
	// still advances the column by its length.
	return lx.token(tokString, s, pos, n), true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
