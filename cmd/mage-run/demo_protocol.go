package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mage-ipc/mage/mage"
)

// The demo's messages are short lines of text (a verb and integers), so
// that a trace of them reads as what they mean:
//
//	parent  → service  "client <worker>"  with the service's end of a new pipe
//	parent  → worker   "service"          with the worker's end of that pipe
//	worker  → service  "square <n>"
//	service → worker   "answer <n> <n*n>"
//	worker  → parent   "report <sent> <answered> <wrong>"
//	parent  → service  "stop"             no more clients are coming
//	service → parent   "report <jobs> <answered> <clients>"
//
// The parent acknowledges a report by closing the control pipe; a child
// exits only then, so that its report cannot be lost in a socket buffer
// when the process ends.
const (
	verbClient  = "client"
	verbService = "service"
	verbSquare  = "square"
	verbAnswer  = "answer"
	verbReport  = "report"
	verbStop    = "stop"
)

// errBadPayload matches every demo message that does not parse.
var errBadPayload = errors.New("mage-run: bad demo message")

// demoMessage is a parsed demo message.
type demoMessage struct {
	verb  string
	args  []int
	pipes []mage.MessagePipe
}

// newMessage encodes verb and args as a mage message carrying pipes.
func newMessage(verb string, args []int, pipes ...mage.MessagePipe) *mage.Message {
	parts := []string{verb}
	for _, a := range args {
		parts = append(parts, strconv.Itoa(a))
	}
	return &mage.Message{Payload: []byte(strings.Join(parts, " ")), Pipes: pipes}
}

// verbOf returns the verb of m, or "" if it has none.
func verbOf(m *mage.Message) string {
	verb, _, _ := strings.Cut(string(m.Payload), " ")
	return verb
}

// parseMessage decodes m and checks that it is verb with nargs integers and
// npipes pipes. On failure it closes the pipes m carries.
func parseMessage(m *mage.Message, verb string, nargs, npipes int) (demoMessage, error) {
	fields := strings.Fields(string(m.Payload))
	fail := func(why string) (demoMessage, error) {
		m.Close()
		return demoMessage{}, fmt.Errorf("%w: %q: %s", errBadPayload, m.Payload, why)
	}
	if len(fields) == 0 || fields[0] != verb {
		return fail("want " + verb)
	}
	if len(fields)-1 != nargs {
		return fail(fmt.Sprintf("want %d numbers", nargs))
	}
	if len(m.Pipes) != npipes || len(m.Handles) != 0 {
		return fail(fmt.Sprintf("want %d pipes and no handles", npipes))
	}
	out := demoMessage{verb: verb, pipes: m.Pipes}
	for _, f := range fields[1:] {
		n, err := strconv.Atoi(f)
		if err != nil {
			return fail("not a number: " + f)
		}
		out.args = append(out.args, n)
	}
	return out, nil
}

// readMessage waits for the next message on p. It returns an error
// matching mage.ErrPeerClosed once the peer is gone, or ctx's error.
func readMessage(ctx context.Context, p mage.MessagePipe) (*mage.Message, error) {
	for {
		m, err := p.ReadMessage()
		if !errors.Is(err, mage.ErrNoMessage) {
			return m, err
		}
		select {
		case <-p.Ready():
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// readExpected reads the next message on p and parses it as verb.
func readExpected(ctx context.Context, p mage.MessagePipe, verb string, nargs, npipes int) (demoMessage, error) {
	m, err := readMessage(ctx, p)
	if err != nil {
		return demoMessage{}, err
	}
	return parseMessage(m, verb, nargs, npipes)
}

// waitPeerClosed reads p until its peer closes it, which is how the parent
// acknowledges a report. Any other message is a protocol error.
func waitPeerClosed(ctx context.Context, p mage.MessagePipe) error {
	m, err := readMessage(ctx, p)
	if errors.Is(err, mage.ErrPeerClosed) {
		return nil
	}
	if err != nil {
		return err
	}
	m.Close()
	return fmt.Errorf("%w: %q: want the pipe closed", errBadPayload, m.Payload)
}
