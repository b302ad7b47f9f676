package magen

import "fmt"

// The Go form of magen types. Each function switches on the kind; a new
// kind must be added to all of them (and to the runtime's Encoder and
// Decoder).

// goType is the Go type of t in generated code.
func goType(t *Type) string {
	switch t.Kind {
	case KindBool:
		return "bool"
	case KindInt:
		return "int32"
	case KindLong:
		return "int64"
	case KindDouble:
		return "float64"
	case KindChar:
		return "byte"
	case KindString:
		return "string"
	case KindBytes:
		return "[]byte"
	case KindHandle:
		return "*os.File"
	case KindMessagePipe:
		return "mage.MessagePipe"
	case KindArray:
		return "[]" + goType(t.Elem)
	case KindPendingRemote:
		return t.Name + "PendingRemote"
	case KindPendingReceiver:
		return t.Name + "PendingReceiver"
	}
	panic(fmt.Sprintf("magen: goType of %s", t.Kind))
}

// zeroValue is the Go zero value of t.
func zeroValue(t *Type) string {
	switch t.Kind {
	case KindBool:
		return "false"
	case KindInt, KindLong, KindDouble, KindChar:
		return "0"
	case KindString:
		return `""`
	case KindBytes, KindHandle, KindArray:
		return "nil"
	case KindMessagePipe, KindPendingRemote, KindPendingReceiver:
		return goType(t) + "{}"
	}
	panic(fmt.Sprintf("magen: zeroValue of %s", t.Kind))
}

// wireName is the suffix of the Encoder.Write* and Decoder.Read* methods
// for a type that has them.
func wireName(t *Type) string {
	switch t.Kind {
	case KindBool:
		return "Bool"
	case KindInt:
		return "Int32"
	case KindLong:
		return "Int64"
	case KindDouble:
		return "Float64"
	case KindChar:
		return "Char"
	case KindString:
		return "String"
	case KindBytes:
		return "Bytes"
	case KindHandle:
		return "Handle"
	case KindMessagePipe, KindPendingRemote, KindPendingReceiver:
		return "Pipe"
	}
	panic(fmt.Sprintf("magen: wireName of %s", t.Kind))
}

// fixedSize is the encoded size of a fixed-size type; ok is false for a
// type whose size depends on its value.
func fixedSize(t *Type) (n int, ok bool) {
	switch t.Kind {
	case KindBool, KindChar:
		return 1, true
	case KindInt:
		return 4, true
	case KindLong, KindDouble:
		return 8, true
	case KindHandle, KindMessagePipe, KindPendingRemote, KindPendingReceiver:
		return 4, true // an index into the message's pipes or handles
	}
	return 0, false
}

// minSize is the least number of payload bytes one value of t takes: what
// the decoder checks against an array's count before allocating.
func minSize(t *Type) int {
	if n, ok := fixedSize(t); ok {
		return n
	}
	return 4 // a length or count
}

// encodeStmt writes expr, of type t, to the encoder e.
func encodeStmt(expr string, t *Type) string {
	switch t.Kind {
	case KindArray:
		return fmt.Sprintf("bindings.WriteArray(e, %s, %s)", expr, writeFunc(t.Elem))
	case KindPendingRemote, KindPendingReceiver:
		return fmt.Sprintf("e.WritePipe(%s.PassPipe())", expr)
	}
	return fmt.Sprintf("e.Write%s(%s)", wireName(t), expr)
}

// decodeExpr reads a value of type t from the decoder d.
func decodeExpr(t *Type) string {
	switch t.Kind {
	case KindArray:
		return fmt.Sprintf("bindings.ReadArray(d, %d, %s)", minSize(t.Elem), readFunc(t.Elem))
	case KindPendingRemote, KindPendingReceiver:
		return fmt.Sprintf("New%s(d.ReadPipe())", goType(t))
	}
	return fmt.Sprintf("d.Read%s()", wireName(t))
}

// writeFunc is an expression of type func(*bindings.Encoder, T).
func writeFunc(t *Type) string {
	switch t.Kind {
	case KindArray, KindPendingRemote, KindPendingReceiver:
		return fmt.Sprintf("func(e *bindings.Encoder, v %s) { %s }", goType(t), encodeStmt("v", t))
	}
	return "(*bindings.Encoder).Write" + wireName(t)
}

// readFunc is an expression of type func(*bindings.Decoder) T.
func readFunc(t *Type) string {
	switch t.Kind {
	case KindArray, KindPendingRemote, KindPendingReceiver:
		return fmt.Sprintf("func(d *bindings.Decoder) %s { return %s }", goType(t), decodeExpr(t))
	}
	return "(*bindings.Decoder).Read" + wireName(t)
}

// sizeHint is an expression for the encoded size of the values, exact for
// everything but arrays of variable-size elements, or "" when nothing is
// known.
func sizeHint(names []string, params []*Param, extra int) string {
	n := extra
	var terms []string
	for i, p := range params {
		t := p.Type
		if k, ok := fixedSize(t); ok {
			n += k
			continue
		}
		n += 4
		switch {
		case t.Kind == KindString || t.Kind == KindBytes:
			terms = append(terms, "len("+names[i]+")")
		case t.Kind == KindArray:
			if k, ok := fixedSize(t.Elem); ok {
				terms = append(terms, fmt.Sprintf("%d*len(%s)", k, names[i]))
			}
		}
	}
	if n == 0 && len(terms) == 0 {
		return ""
	}
	s := fmt.Sprint(n)
	for _, term := range terms {
		s += " + " + term
	}
	return s
}

// usesHandles reports whether t carries an *os.File.
func usesHandles(t *Type) bool {
	if t.Kind == KindArray {
		return usesHandles(t.Elem)
	}
	return t.Kind == KindHandle
}
