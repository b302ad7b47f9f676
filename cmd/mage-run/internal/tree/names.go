package tree

import (
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/mage"
)

// nodeKeys are the log keys whose values name a node: the trace lines'
// ends, and the launcher's own.
var nodeKeys = map[string]bool{"from": true, "to": true, "node": true}

// NodeNames maps the names of the nodes of a tree's processes, as the
// logs spell them, to the processes' instance names, so that a log line
// says "to=server" rather than a 32-digit name. Its methods are safe for
// concurrent use.
type NodeNames struct {
	// mu guards m.
	mu sync.RWMutex
	m  map[string]string
}

// NewNodeNames returns an empty map.
func NewNodeNames() *NodeNames { return &NodeNames{m: make(map[string]string)} }

// Logger returns log, naming the nodes it knows in every line.
func (n *NodeNames) Logger(log hclog.Logger) hclog.Logger {
	return &namingLogger{Logger: log, names: n}
}

// Set names node.
func (n *NodeNames) Set(node mage.NodeName, instance string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.m[node.String()] = instance
}

// rewrite returns args with the node names it knows replaced. It copies
// args only when it replaces something.
func (n *NodeNames) rewrite(args []any) []any {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := args
	for i := 0; i+1 < len(args); i += 2 {
		key, ok := args[i].(string)
		if !ok || !nodeKeys[key] {
			continue
		}
		v, ok := args[i+1].(string)
		if !ok {
			continue
		}
		if name, known := n.m[v]; known {
			if &out[0] == &args[0] {
				out = append([]any(nil), args...)
			}
			out[i+1] = name
		}
	}
	return out
}

// namingLogger is a logger that names nodes by their instances. The
// launcher re-emits a process's log lines through it.
type namingLogger struct {
	hclog.Logger
	names *NodeNames
}

func (l *namingLogger) Log(level hclog.Level, msg string, args ...any) {
	l.Logger.Log(level, msg, l.names.rewrite(args)...)
}

func (l *namingLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }
func (l *namingLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }
func (l *namingLogger) Info(msg string, args ...any)  { l.Log(hclog.Info, msg, args...) }
func (l *namingLogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }
func (l *namingLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

func (l *namingLogger) Named(name string) hclog.Logger {
	return &namingLogger{Logger: l.Logger.Named(name), names: l.names}
}

func (l *namingLogger) ResetNamed(name string) hclog.Logger {
	return &namingLogger{Logger: l.Logger.ResetNamed(name), names: l.names}
}

func (l *namingLogger) With(args ...any) hclog.Logger {
	return &namingLogger{Logger: l.Logger.With(l.names.rewrite(args)...), names: l.names}
}
