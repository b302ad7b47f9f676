package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The control socket is descriptor 3 of every child. The parent writes one
// command per line and reads one answer per line: "ok" and values, or "err"
// and a message. Commands:
//
//	mallocs              the child's runtime.MemStats.Mallocs
//	idle <kind> <n>      memory per idle pipe, measured over n pipes (mage only)
//	collapse             wait until this node no longer proxies (the chain's B)
//
// When the parent closes the socket the child writes its profiles and exits.

// controlTimeout bounds one command; idle memory over many pipes is the
// slowest.
const controlTimeout = 60 * time.Second

// maxControlLine bounds what the parent reads from a child.
const maxControlLine = 4096

// errControl is the sentinel of every control-protocol failure.
var errControl = errors.New("bench: control")

// control is the parent's end of a child's control socket. Safe for
// concurrent use; commands run one at a time.
type control struct {
	// mu serialises commands and guards r.
	mu   sync.Mutex
	r    *bufio.Reader
	conn *net.UnixConn
}

func newControl(conn *net.UnixConn) *control {
	return &control{conn: conn, r: bufio.NewReaderSize(conn, maxControlLine)}
}

// ask sends one command and returns the fields of its "ok" answer.
func (c *control) ask(cmd string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.conn.SetDeadline(time.Now().Add(controlTimeout)); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errControl, cmd, err)
	}
	if _, err := c.conn.Write([]byte(cmd + "\n")); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errControl, cmd, err)
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading the answer: %w", errControl, cmd, err)
	}
	fields := strings.Fields(string(line))
	switch {
	case len(fields) > 0 && fields[0] == "ok":
		return fields[1:], nil
	case len(fields) > 0 && fields[0] == "err":
		return nil, fmt.Errorf("%w: %s: child says: %s", errControl, cmd, strings.Join(fields[1:], " "))
	default:
		return nil, fmt.Errorf("%w: %s: malformed answer %q", errControl, cmd, line)
	}
}

// askFloats sends cmd and parses want numbers from the answer.
func (c *control) askFloats(cmd string, want int) ([]float64, error) {
	fields, err := c.ask(cmd)
	if err != nil {
		return nil, err
	}
	if len(fields) != want {
		return nil, fmt.Errorf("%w: %s: want %d values, got %q", errControl, cmd, want, fields)
	}
	out := make([]float64, want)
	for i, f := range fields {
		if out[i], err = strconv.ParseFloat(f, 64); err != nil {
			return nil, fmt.Errorf("%w: %s: value %d: %w", errControl, cmd, i, err)
		}
	}
	return out, nil
}

// mallocs is the child's count of heap allocations so far.
func (c *control) mallocs() (uint64, error) {
	v, err := c.askFloats("mallocs", 1)
	if err != nil {
		return 0, err
	}
	return uint64(v[0]), nil
}

func (c *control) close() error { return c.conn.Close() }

// controlHandler answers one command in a child: the fields after "ok".
type controlHandler func(args []string) (string, error)

// serveControl answers commands on the child's control socket until the
// parent closes it; then it returns nil.
func serveControl(conn *net.UnixConn, handlers map[string]controlHandler) error {
	r := bufio.NewReaderSize(conn, maxControlLine)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return nil // the parent closed the socket: it is done with us
		}
		fields := strings.Fields(string(line))
		answer := "err empty command"
		if len(fields) > 0 {
			answer = "err unknown command " + strconv.Quote(fields[0])
			if h, ok := handlers[fields[0]]; ok {
				if v, err := h(fields[1:]); err != nil {
					answer = "err " + strings.ReplaceAll(err.Error(), "\n", " ")
				} else {
					answer = "ok " + v
				}
			}
		}
		if _, err := conn.Write([]byte(answer + "\n")); err != nil {
			return fmt.Errorf("%w: answering: %w", errControl, err)
		}
	}
}

// mallocsHandler reports this process's heap allocations so far.
func mallocsHandler([]string) (string, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return strconv.FormatUint(ms.Mallocs, 10), nil
}
