package magen

import (
	"fmt"
	"strconv"
)

// tokenKind is the lexical class of a token.
type tokenKind int

const (
	tokEOF     tokenKind = iota
	tokIllegal           // a character that starts no token; already reported
	tokIdent             // Foo, int, pending_remote, interface
	tokInt               // 42
	tokString            // "other.magen"
	tokLBrace            // {
	tokRBrace            // }
	tokLParen            // (
	tokRParen            // )
	tokLAngle            // <
	tokRAngle            // >
	tokSemi              // ;
	tokComma             // ,
	tokAt                // @
	tokArrow             // =>
	tokDot               // .
	tokLBrack            // [
	tokRBrack            // ]
	tokEquals            // =
)

var tokenNames = [...]string{
	tokEOF:     "end of file",
	tokIllegal: "illegal token",
	tokIdent:   "identifier",
	tokInt:     "number",
	tokString:  "string",
	tokLBrace:  "'{'",
	tokRBrace:  "'}'",
	tokLParen:  "'('",
	tokRParen:  "')'",
	tokLAngle:  "'<'",
	tokRAngle:  "'>'",
	tokSemi:    "';'",
	tokComma:   "','",
	tokAt:      "'@'",
	tokArrow:   "'=>'",
	tokDot:     "'.'",
	tokLBrack:  "'['",
	tokRBrack:  "']'",
	tokEquals:  "'='",
}

func (k tokenKind) String() string {
	if k >= 0 && int(k) < len(tokenNames) {
		return tokenNames[k]
	}
	return fmt.Sprintf("tokenKind(%d)", int(k))
}

// token is one lexical token.
type token struct {
	kind tokenKind
	lit  string   // identifier, digits, or the unquoted string
	pos  Position // first byte
	end  Position // just after the last byte
	// doc holds the text of the // comment lines directly above the token,
	// when nothing else shares their lines.
	doc []string
}

// describe names the token for "found ..." in error messages.
func (t token) describe() string {
	switch t.kind {
	case tokIdent:
		return t.lit
	case tokInt:
		return "number " + t.lit
	case tokString:
		return "string " + strconv.Quote(t.lit)
	}
	return t.kind.String()
}

// is reports whether t is the identifier word.
func (t token) is(word string) bool { return t.kind == tokIdent && t.lit == word }
