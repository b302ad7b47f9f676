package mage

import (
	"os"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/mage/internal/registry"
)

// EnvTrace names the environment variable that turns tracing on for the
// DefaultNode: when it is set to anything but "" or "0", the default node
// logs every message its pipes write and read to standard error, as
// hclog JSON lines (which a launcher capturing the process's stderr
// re-emits with their keys). mage-run --trace sets it for every process.
const EnvTrace = "MAGE_TRACE"

// Counters are what a node's pipes have carried since it was made.
type Counters struct {
	// Sent counts messages written to the node's pipes.
	Sent uint64
	// Received counts messages read from the node's pipes.
	Received uint64
}

// counters are a node's message counts; atomics, so that the hot path
// takes no lock of its own for them.
type counters struct {
	sent, received atomic.Uint64
}

// Counters returns how many messages the node's pipes have written and
// read.
func (n *Node) Counters() Counters {
	return Counters{Sent: n.counts.sent.Load(), Received: n.counts.received.Load()}
}

// traceFromEnv returns the trace logger EnvTrace asks for, or nil.
func traceFromEnv() hclog.Logger {
	if v := os.Getenv(EnvTrace); v == "" || v == "0" {
		return nil
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "mage.trace",
		Output:     os.Stderr,
		JSONFormat: true,
		Level:      hclog.Info,
	})
}

// traceSent logs a message written to the pipe whose port is e's. The
// caller holds n.mu, so the peer's address is the one the message went to.
func (n *Node) traceSentLocked(e *endpoint, m *Message, pipes, handles int) {
	to := ""
	if peer, err := n.ports.Peer(e.port); err == nil {
		to = NodeName(peer.Node).String()
	}
	n.trace.Info("message sent",
		"method", registry.MethodName(m.Interface, m.Method),
		"bytes", len(m.Payload),
		"pipes", pipes,
		"handles", handles,
		"reply", m.Flags&FlagIsResponse != 0,
		"from", n.Name().String(),
		"to", to,
	)
}

// traceReceived logs a message read from a pipe of n.
func (n *Node) traceReceived(m *Message) {
	n.trace.Info("message received",
		"method", registry.MethodName(m.Interface, m.Method),
		"bytes", len(m.Payload),
		"pipes", len(m.Pipes),
		"handles", len(m.Handles),
		"reply", m.Flags&FlagIsResponse != 0,
		"from", m.Source().String(),
		"to", n.Name().String(),
	)
}
