package invitation

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// EnvVar is the environment variable that carries an invitation to a child.
const EnvVar = "MAGE_INVITATION"

// TokenSize is the length of an invitation token in bytes.
const TokenSize = 32

// address is a parsed invitation variable.
type address struct {
	// fd is the inherited socket's descriptor, or -1.
	fd int
	// socket is the named socket to dial, when fd is -1.
	socket string
	token  []byte
}

func (a address) String() string {
	tok := "token=" + hex.EncodeToString(a.token)
	if a.fd >= 0 {
		return "fd=" + strconv.Itoa(a.fd) + ";" + tok
	}
	return "socket=" + a.socket + ";" + tok
}

// parseAddress parses the value of EnvVar.
func parseAddress(v string) (address, error) {
	a := address{fd: -1}
	shown := elideToken(v)
	bad := func(reason string, err error) (address, error) {
		return address{}, &BadInvitationError{Value: shown, Reason: reason, Err: err}
	}
	seen := map[string]bool{}
	for _, field := range strings.Split(v, ";") {
		key, val, ok := strings.Cut(field, "=")
		if !ok {
			return bad(fmt.Sprintf("field %q is not key=value", elideToken(field)), nil)
		}
		if seen[key] {
			return bad(fmt.Sprintf("field %q appears twice", key), nil)
		}
		seen[key] = true
		switch key {
		case "fd":
			fd, err := strconv.Atoi(val)
			if err != nil || fd < 3 {
				return bad(fmt.Sprintf("fd %q is not a descriptor number of 3 or more", val), nil)
			}
			a.fd = fd
		case "socket":
			if val == "" {
				return bad("socket is empty", nil)
			}
			a.socket = val
		case "token":
			tok, err := hex.DecodeString(val)
			if err != nil || len(tok) != TokenSize {
				return bad(fmt.Sprintf("token is not %d hex digits", 2*TokenSize), nil)
			}
			a.token = tok
		default:
			return bad(fmt.Sprintf("unknown field %q", key), nil)
		}
	}
	switch {
	case a.token == nil:
		return bad("no token", nil)
	case a.fd >= 0 && a.socket != "":
		return bad("both fd and socket given", nil)
	case a.fd < 0 && a.socket == "":
		return bad("neither fd nor socket given", nil)
	}
	return a, nil
}

// elideToken hides a token's digits from error messages and logs.
func elideToken(v string) string {
	fields := strings.Split(v, ";")
	for i, f := range fields {
		if strings.HasPrefix(f, "token=") {
			fields[i] = "token=<elided>"
		}
	}
	return strings.Join(fields, ";")
}
