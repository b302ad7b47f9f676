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
	// broker is the descriptor of a socket to the tree's broker, or -1.
	broker int
	// inviterIsBroker says the inviter is the root of the tree.
	inviterIsBroker bool
}

func (a address) String() string {
	s := "socket=" + a.socket
	if a.fd >= 0 {
		s = "fd=" + strconv.Itoa(a.fd)
	}
	switch {
	case a.broker >= 0:
		s += ";broker=" + strconv.Itoa(a.broker)
	case a.inviterIsBroker:
		s += ";broker=inviter"
	}
	return s + ";token=" + hex.EncodeToString(a.token)
}

// parseAddress parses the value of EnvVar.
func parseAddress(v string) (address, error) {
	a := address{fd: -1, broker: -1}
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
		case "broker":
			if val == "inviter" {
				a.inviterIsBroker = true
				break
			}
			fd, err := strconv.Atoi(val)
			if err != nil || fd < 3 {
				return bad(fmt.Sprintf("broker %q is neither \"inviter\" nor a descriptor number of 3 or more", val), nil)
			}
			a.broker = fd
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
	case a.broker >= 0 && a.broker == a.fd:
		return bad("broker and fd are the same descriptor", nil)
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
