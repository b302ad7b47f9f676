package magen

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ParseFile parses one .magen source. It checks syntax only; Load also
// resolves imports and names and checks the file's meaning. The returned
// File holds whatever could be parsed, even when the error is not nil; the
// error is an ErrorList.
func ParseFile(filename string, src []byte) (*File, error) {
	var errs ErrorList
	f := parse(filename, src, &errs)
	errs.RemoveDuplicates()
	return f, errs.Err()
}

// parser is a recursive-descent parser with one token of look-ahead. After
// an error it skips to a point where parsing can resume (the end of the
// method, or the next top-level keyword), so one run reports several
// independent errors without a cascade.
type parser struct {
	lx   *lexer
	errs *ErrorList
	file *File
	tok  token // current token
	prev token // the token before it

	sawImport, sawInterface bool
}

func parse(filename string, src []byte, errs *ErrorList) *File {
	p := &parser{lx: newLexer(filename, src, errs), errs: errs, file: &File{Name: filename}}
	p.next()
	p.parseFile()
	return p.file
}

func (p *parser) next() {
	p.prev = p.tok
	p.tok = p.lx.next()
}

func (p *parser) errorf(pos Position, format string, args ...any) {
	p.errs.Addf(pos, format, args...)
}

// errorExpected reports that the current token is not what was expected.
func (p *parser) errorExpected(what string) {
	if p.tok.kind == tokIllegal {
		return // the lexer has said why
	}
	p.errorf(p.tok.pos, "expected %s, found %s", what, p.tok.describe())
}

// expect consumes a token of kind k, or reports "expected <what>".
func (p *parser) expect(k tokenKind, what string) bool {
	if p.tok.kind != k {
		p.errorExpected(what)
		return false
	}
	p.next()
	return true
}

func (p *parser) atTopLevelKeyword() bool {
	return p.tok.is("interface") || p.tok.is("import") || p.tok.is("package")
}

// syncTop skips to the next top-level keyword.
func (p *parser) syncTop() {
	for p.tok.kind != tokEOF && !p.atTopLevelKeyword() {
		p.next()
	}
}

// syncMethod skips past the next ';', or to a '}' or the end of the file.
func (p *parser) syncMethod() {
	for {
		switch p.tok.kind {
		case tokEOF, tokRBrace:
			return
		case tokSemi:
			p.next()
			return
		}
		p.next()
	}
}

// file = [ package ] { import } { interface } .
func (p *parser) parseFile() {
	for p.tok.kind != tokEOF {
		switch {
		case p.tok.is("package"):
			p.parsePackage()
		case p.tok.is("import"):
			p.parseImport()
		case p.tok.is("interface"):
			p.parseInterface()
		default:
			p.errorExpected("'interface', 'import' or 'package'")
			p.next()
			p.syncTop()
		}
	}
}

// package = "package" ident { "." ident } ";" .
func (p *parser) parsePackage() {
	pos := p.tok.pos
	switch {
	case p.file.Package != nil:
		p.errorf(pos, "duplicate package statement (the first is at %s)", p.file.Package.Pos)
	case p.sawImport || p.sawInterface:
		p.errorf(pos, "the package statement must come before imports and interfaces")
	}
	p.next()
	if p.tok.kind != tokIdent {
		p.errorExpected("package name after 'package'")
		p.syncTop()
		return
	}
	name := p.tok.lit
	p.next()
	for p.tok.kind == tokDot {
		p.next()
		if p.tok.kind != tokIdent {
			p.errorExpected("identifier after '.' in package name")
			p.syncTop()
			return
		}
		name += "." + p.tok.lit
		p.next()
	}
	if !p.expectSemi("package " + name) {
		p.syncTop()
		return
	}
	if p.file.Package == nil {
		p.file.Package = &PackageDecl{Pos: pos, Name: name}
	}
}

// expectSemi consumes the ';' that ends a declaration. A missing one is
// reported just after the previous token, where it belongs.
func (p *parser) expectSemi(after string) bool {
	if p.tok.kind == tokSemi {
		p.next()
		return true
	}
	if p.tok.kind != tokIllegal {
		p.errorf(p.prev.end, "expected ';' after %s, found %s", after, p.tok.describe())
	}
	return false
}

// import = "import" string ";" .
func (p *parser) parseImport() {
	pos := p.tok.pos
	if p.sawInterface {
		p.errorf(pos, "imports must come before interfaces")
	}
	p.sawImport = true
	p.next()
	if p.tok.kind != tokString {
		p.errorExpected("file name in double quotes after 'import'")
		p.syncTop()
		return
	}
	path := p.tok.lit
	if path == "" {
		p.errorf(p.tok.pos, "empty import path")
	}
	p.next()
	if !p.expectSemi(fmt.Sprintf("import %q", path)) {
		p.syncTop()
		return
	}
	if path != "" {
		p.file.Imports = append(p.file.Imports, &Import{Pos: pos, Path: path})
	}
}

// interface = "interface" ident "{" { method } "}" [ ";" ] .
func (p *parser) parseInterface() {
	p.sawInterface = true
	pos, doc := p.tok.pos, p.tok.doc
	p.next()
	if p.tok.kind != tokIdent {
		p.errorExpected("interface name after 'interface'")
		p.next()
		p.syncTop()
		return
	}
	iface := &Interface{Pos: pos, Name: p.tok.lit, Doc: doc, File: p.file}
	p.file.Interfaces = append(p.file.Interfaces, iface)
	p.next()
	open := p.tok.pos
	if !p.expect(tokLBrace, "'{' after interface "+iface.Name) {
		p.syncTop()
		return
	}
	for p.tok.kind != tokRBrace && p.tok.kind != tokEOF {
		if p.atTopLevelKeyword() {
			p.errorf(p.tok.pos, "expected '}' to close interface %s (opened at %d:%d), found %s",
				iface.Name, open.Line, open.Column, p.tok.describe())
			return
		}
		if m := p.parseMethod(); m != nil {
			iface.Methods = append(iface.Methods, m)
		}
	}
	if p.tok.kind == tokEOF {
		p.errorf(p.tok.pos, "expected '}' to close interface %s (opened at %d:%d), found end of file",
			iface.Name, open.Line, open.Column)
		return
	}
	p.next()
	if p.tok.kind == tokSemi {
		p.next()
	}
}

// method = [ attrs ] ident [ "@" int ] "(" params ")" [ "=>" "(" params ")" ] ";" .
func (p *parser) parseMethod() *Method {
	doc := p.tok.doc
	attrs, ok := p.parseAttrs()
	if !ok {
		p.syncMethod()
		return nil
	}
	if p.tok.kind != tokIdent {
		p.errorExpected("method name or '}'")
		p.next()
		p.syncMethod()
		return nil
	}
	if doc == nil {
		doc = p.tok.doc
	}
	m := &Method{Pos: p.tok.pos, Name: p.tok.lit, Doc: doc, MinVersion: attrs.minVersion, MinVersionPos: attrs.minVersionPos}
	p.next()
	if p.tok.kind == tokAt {
		p.next()
		if p.tok.kind != tokInt {
			p.errorExpected("ordinal number after '@'")
			p.syncMethod()
			return nil
		}
		n, err := strconv.ParseUint(p.tok.lit, 10, 32)
		switch {
		case errors.Is(err, strconv.ErrRange):
			p.errorf(p.tok.pos, "ordinal %s is out of range (0 to 4294967295)", p.tok.lit)
		case err != nil:
			p.errorf(p.tok.pos, "ordinal %s is not a decimal number", p.tok.lit)
		}
		m.Ordinal, m.HasOrdinal, m.OrdinalPos = uint32(n), true, p.tok.pos
		p.next()
	}
	if !p.expect(tokLParen, "'(' after method name "+m.Name) {
		p.syncMethod()
		return nil
	}
	if m.Params, ok = p.parseParams("parameter"); !ok {
		p.syncMethod()
		return nil
	}
	if p.tok.kind == tokArrow {
		p.next()
		if !p.expect(tokLParen, "'(' after '=>'") {
			p.syncMethod()
			return nil
		}
		m.HasReply = true
		if m.Results, ok = p.parseParams("result"); !ok {
			p.syncMethod()
			return nil
		}
	}
	if !p.expectSemi("method " + m.Name) {
		// A missing ';' at the end of a line is most likely just that:
		// resume at the next line's method rather than skipping it.
		if p.tok.kind != tokRBrace && p.tok.pos.Line == p.prev.end.Line {
			p.syncMethod()
		}
	}
	return m
}

// params = [ param { "," param } [ "," ] ] ")" ; the '(' is already read.
func (p *parser) parseParams(what string) ([]*Param, bool) {
	var list []*Param
	for p.tok.kind != tokRParen {
		prm, ok := p.parseParam(what)
		if !ok {
			return nil, false
		}
		list = append(list, prm)
		if p.tok.kind == tokComma {
			p.next()
			continue
		}
		if p.tok.kind != tokRParen {
			p.errorExpected(fmt.Sprintf("',' or ')' after %s %s", what, prm.Name))
			return nil, false
		}
	}
	p.next()
	return list, true
}

// param = [ attrs ] type ident .
func (p *parser) parseParam(what string) (*Param, bool) {
	attrs, ok := p.parseAttrs()
	if !ok {
		return nil, false
	}
	pos := p.tok.pos
	typ, ok := p.parseType(what+" type", 0)
	if !ok {
		return nil, false
	}
	if p.tok.kind != tokIdent {
		p.errorExpected(fmt.Sprintf("%s name after type %s", what, typ))
		return nil, false
	}
	prm := &Param{Pos: pos, Type: typ, Name: p.tok.lit, MinVersion: attrs.minVersion, MinVersionPos: attrs.minVersionPos}
	p.next()
	return prm, true
}

// attrs are the attributes written before a method or parameter.
type attrs struct {
	minVersion    uint32
	minVersionPos Position
}

// attrs = "[" attr { "," attr } [ "," ] "]" ; attr = ident "=" int .
//
// The only attribute is MinVersion, the interface version that added what
// follows; it must be from 1 to 65535 (the versions a message header can
// carry).
func (p *parser) parseAttrs() (attrs, bool) {
	var a attrs
	if p.tok.kind != tokLBrack {
		return a, true
	}
	p.next()
	seen := false
	for {
		if p.tok.kind != tokIdent {
			p.errorExpected("attribute name after '['")
			return a, false
		}
		name, pos := p.tok.lit, p.tok.pos
		if name != "MinVersion" {
			p.errorf(pos, "unknown attribute %s (the only attribute is MinVersion)", name)
			return a, false
		}
		if seen {
			p.errorf(pos, "attribute MinVersion given twice")
			return a, false
		}
		seen = true
		p.next()
		if !p.expect(tokEquals, "'=' after attribute "+name) {
			return a, false
		}
		if p.tok.kind != tokInt {
			p.errorExpected("version number after 'MinVersion='")
			return a, false
		}
		n, err := strconv.ParseUint(p.tok.lit, 10, 32)
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange):
			p.errorf(p.tok.pos, "MinVersion %s is not a decimal number", p.tok.lit)
			return a, false
		case err != nil || n > maxVersion:
			p.errorf(p.tok.pos, "MinVersion %s is out of range (1 to %d)", p.tok.lit, maxVersion)
			return a, false
		case n == 0:
			p.errorf(p.tok.pos, "MinVersion 0 is the first version, which needs no attribute; versions added later count from 1")
			return a, false
		}
		a.minVersion, a.minVersionPos = uint32(n), pos
		p.next()
		if p.tok.kind == tokComma {
			p.next()
			if p.tok.kind != tokRBrack {
				continue
			}
		}
		if !p.expect(tokRBrack, "']' after attribute "+name) {
			return a, false
		}
		return a, true
	}
}

// maxVersion is the highest interface version a message header carries.
const maxVersion = 0xFFFF

// type = basic | "array" "<" type ">" | ( "pending_remote" | "pending_receiver" ) "<" ident ">" .
//
// depth counts the arrays around the type.
func (p *parser) parseType(what string, depth int) (*Type, bool) {
	if p.tok.kind != tokIdent {
		p.errorExpected(what)
		return nil, false
	}
	t := &Type{Pos: p.tok.pos, Name: p.tok.lit}
	word := p.tok.lit
	p.next()
	if k, ok := basicKinds[word]; ok {
		t.Kind, t.Name = k, ""
		return t, true
	}
	switch word {
	case "array":
		t.Kind, t.Name = KindArray, ""
		if depth == maxArrayDepth {
			p.errorf(t.Pos, "arrays nested more than %d deep", maxArrayDepth)
			return nil, false
		}
		if !p.expect(tokLAngle, "'<' after array") {
			return nil, false
		}
		elem, ok := p.parseType("element type in array<...>", depth+1)
		if !ok {
			return nil, false
		}
		t.Elem = elem
		if p.tok.kind != tokRAngle {
			p.errorExpected("'>' to close array<" + elem.String())
			return nil, false
		}
		p.next()
	case "pending_remote", "pending_receiver":
		t.Kind = KindPendingRemote
		if word == "pending_receiver" {
			t.Kind = KindPendingReceiver
		}
		if !p.expect(tokLAngle, "'<' after "+word) {
			return nil, false
		}
		if p.tok.kind != tokIdent {
			p.errorExpected("interface name in " + word + "<...>")
			return nil, false
		}
		if _, basic := basicKinds[p.tok.lit]; basic || isGenericWord(p.tok.lit) {
			p.errorf(p.tok.pos, "expected interface name in %s<...>, found type %s", word, p.tok.lit)
			return nil, false
		}
		t.Name = p.tok.lit
		p.next()
		if !p.expect(tokRAngle, "'>' to close "+word+"<"+t.Name) {
			return nil, false
		}
	default:
		if p.tok.kind == tokLAngle {
			p.errorf(t.Pos, "unknown type %s<...>%s", word, genericHint(word))
			return nil, false
		}
		// An unknown word is syntactically a type; Load says it is unknown,
		// with a hint when it can guess what was meant.
		t.Kind = KindInvalid
	}
	return t, true
}

// maxArrayDepth bounds how deeply arrays nest. Real interfaces nest two or
// three deep; the bound keeps a hostile file from making the parser and
// the generator take quadratic time and memory.
const maxArrayDepth = 16

// isGenericWord reports whether word starts a type with a type parameter.
func isGenericWord(word string) bool {
	return word == "array" || word == "pending_remote" || word == "pending_receiver"
}

// genericHint suggests the parameterised type a misspelt word<...> meant.
func genericHint(word string) string {
	for _, w := range []string{"array", "pending_remote", "pending_receiver"} {
		if strings.EqualFold(w, word) {
			return fmt.Sprintf(" (did you mean %s<...>?)", w)
		}
	}
	return ""
}
