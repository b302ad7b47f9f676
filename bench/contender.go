package main

import (
	"context"
	"fmt"
	"os"
)

// A contender is one IPC library (or the raw socket it sits on), with a
// parent side that starts a child and a child side that serves it.
type contender struct {
	// key names it in flags and in the child's environment.
	key string
	// name is its column in the report.
	name string
	// multiplexed says one client may be shared by concurrent callers;
	// callers of a client that is not take turns on a mutex.
	multiplexed bool
	// lockThread runs each caller locked to its OS thread.
	lockThread bool
	// start spawns a child and connects to it with the given number of
	// independent clients (pipes, sockets or stubs).
	start func(ctx context.Context, clients int, profileDir string) (session, error)
	// serve is the child's side: it serves the channels until the process
	// exits (when the parent closes the control socket).
	serve func(ctx context.Context, env *childEnv) error
}

// session is a running child and the parent's clients to it.
type session interface {
	// client returns client i, 0 <= i < the count start was given.
	client(i int) client
	// control is the child's control socket.
	control() *control
	// close closes the clients and stops the child.
	close() error
}

// client is one channel to the child: a Remote, a pipe, a socket, a stub.
// The content of a payload is arbitrary; the child checks nothing but its
// size, and the parent checks the size of what comes back.
type client interface {
	// call sends p and waits for the child to echo it.
	call(p []byte) error
	// push sends p one way.
	push(p []byte) error
	// sync waits until the child has handled every push before it and
	// returns how many arrived since the previous sync.
	sync() (int64, error)
}

// childEnv is what a child's serve gets.
type childEnv struct {
	// channels are the inherited channel sockets, descriptors 4 and up.
	channels []*os.File
	// handlers are the control commands the child answers; fixed before
	// serve starts.
	handlers map[string]controlHandler
	// ready is closed by a serve that has set up what a control command
	// waits for (the chain's relay).
	ready chan struct{}
}

// contenders are every contender, in the report's column order.
func contenders() []*contender {
	return []*contender{
		rawNetContender(),
		rawBlockingContender(),
		netRPCContender(),
		ttrpcContender(),
		goPluginContender(),
		mageTypedContender(),
		mageTypedInlineContender(),
		magePipeContender(),
	}
}

func contenderKeys() []string {
	var keys []string
	for _, c := range contenders() {
		keys = append(keys, c.key)
	}
	return keys
}

func findContender(key string) (*contender, error) {
	for _, c := range contenders() {
		if c.key == key {
			return c, nil
		}
	}
	return nil, fmt.Errorf("bench: no contender %q", key)
}

// baseSession is the part of a session every socket-based contender shares.
type baseSession struct {
	ch      *child
	clients []client
	// closers run before the child is stopped.
	closers []func() error
}

func (s *baseSession) client(i int) client { return s.clients[i] }
func (s *baseSession) control() *control   { return s.ch.ctl }

func (s *baseSession) close() error {
	var first error
	for _, c := range s.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	if err := s.ch.stop(); err != nil && first == nil {
		first = err
	}
	return first
}
