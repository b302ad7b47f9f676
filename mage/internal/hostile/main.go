package hostile

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// EnvInvitation is the variable the launcher gives a child its invitation
// in (invitation.EnvVar): "fd=N;token=HEX" and fields this child ignores.
const EnvInvitation = "MAGE_INVITATION"

// EnvMode names the attack Main runs; see Modes.
const EnvMode = "MAGE_HOSTILE_MODE"

// Main is the hostile child's main: it runs the attack named by EnvMode on
// the invitation socket and then waits to be killed, reading nothing. Its
// result is the process's exit status: 0 if the attack ran, 2 if it could
// not (a broken environment, a parent that refused too early for the
// attack to be made), with the reason on stderr.
func Main() int {
	mode := os.Getenv(EnvMode)
	attack, ok := attacks[mode]
	if !ok {
		fmt.Fprintf(os.Stderr, "hostile: unknown mode %q; modes: %s\n", mode, strings.Join(Modes(), " "))
		return 2
	}
	fd, token, proves, err := parseInvitation(os.Getenv(EnvInvitation))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		return 2
	}
	_ = os.Unsetenv(EnvInvitation)
	f := os.NewFile(uintptr(fd), "invitation")
	c, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile: invitation socket:", err)
		return 2
	}
	conn, ok := c.(*net.UnixConn)
	if !ok {
		fmt.Fprintf(os.Stderr, "hostile: invitation socket is a %T\n", c)
		return 2
	}
	// Waiting for a signal keeps a goroutine of the runtime's own alive,
	// so the wait below is not mistaken for a deadlock.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	p := NewPeer(conn)
	// A child whose inviter is the broker proves its name to it.
	p.ProvesName = proves
	if err := attack(p, token); err != nil {
		fmt.Fprintf(os.Stderr, "hostile: %s: %v\n", mode, err)
		return 2
	}
	fmt.Fprintf(os.Stderr, "hostile: %s: attack made\n", mode)
	// An attacker does not leave on its own: the parent must cut it off.
	<-stop
	return 0
}

// parseInvitation takes the descriptor and the token from the invitation
// variable, and whether the inviter is the broker ("broker=inviter").
func parseInvitation(v string) (fd int, token []byte, inviterIsBroker bool, err error) {
	fd = -1
	for _, field := range strings.Split(v, ";") {
		key, val, _ := strings.Cut(field, "=")
		switch key {
		case "fd":
			if fd, err = strconv.Atoi(val); err != nil {
				return -1, nil, false, fmt.Errorf("invitation fd %q: %w", val, err)
			}
		case "token":
			if token, err = hex.DecodeString(val); err != nil {
				return -1, nil, false, fmt.Errorf("invitation token: %w", err)
			}
		case "broker":
			inviterIsBroker = val == "inviter"
		}
	}
	if fd < 3 || token == nil {
		return -1, nil, false, errors.New("no inherited invitation socket and token in " + EnvInvitation)
	}
	return fd, token, inviterIsBroker, nil
}
