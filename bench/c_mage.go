package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/mage-ipc/mage/bench/benchmagen"
	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
)

// Methods of the mage pipe contender's messages (Message.Method).
const (
	pipeEcho uint32 = 1 + iota
	pipePush
	pipeSync
)

var errMagePipe = errors.New("bench: mage pipe")

// benchImpl is the child's implementation of benchmagen.Bench. It keeps
// none of the bytes it is given, so its Receiver borrows them
// (bindings.Receiver.SetBorrowedBytes).
type benchImpl struct{ pushed atomic.Int64 }

func (b *benchImpl) Echo(_ context.Context, data []byte) ([]byte, error) { return data, nil }
func (b *benchImpl) Push([]byte)                                         { b.pushed.Add(1) }
func (b *benchImpl) Sync(context.Context) (int64, error)                 { return b.pushed.Swap(0), nil }

// typedClient calls through the generated Remote.
type typedClient struct {
	ctx context.Context
	r   *benchmagen.BenchRemote
}

func (c *typedClient) call(p []byte) error {
	q, err := c.r.Echo(c.ctx, p)
	if err != nil {
		return err
	}
	if len(q) != len(p) {
		return fmt.Errorf("bench: mage Echo of %d bytes came back with %d", len(p), len(q))
	}
	return nil
}

func (c *typedClient) push(p []byte) error  { return c.r.Push(p) }
func (c *typedClient) sync() (int64, error) { return c.r.Sync(c.ctx) }

// pipeClient writes and reads Messages on a MessagePipe, the way a program
// that cares for its allocations is meant to: WriteMessage owns what it is
// given, so a round trip sends the message that came back from the
// previous one, and each push fills a message from mage.NewMessage (a
// pooled Message, with a small payload in its own block and a large one
// from mage.NewPayload, a buffer an earlier push left once written, when
// one is free), which its reader gives back with Message.Release.
type pipeClient struct {
	ctx  context.Context
	p    mage.MessagePipe
	echo *mage.Message
}

func (c *pipeClient) call(p []byte) error {
	m := c.echo
	if m == nil || len(m.Payload) != len(p) {
		m = mage.NewMessage(len(p))
		copy(m.Payload, p)
	}
	c.echo = nil
	m.Method = pipeEcho
	if err := c.p.WriteMessage(m); err != nil {
		return err
	}
	m, err := nextMessage(c.ctx, c.p)
	if err != nil {
		return err
	}
	if m.Method != pipeEcho || len(m.Payload) != len(p) {
		return fmt.Errorf("%w: echo of %d bytes came back as method %d with %d", errMagePipe, len(p), m.Method, len(m.Payload))
	}
	c.echo = m
	return nil
}

func (c *pipeClient) push(p []byte) error {
	m := mage.NewMessage(len(p))
	copy(m.Payload, p)
	m.Method = pipePush
	return c.p.WriteMessage(m)
}

func (c *pipeClient) sync() (int64, error) {
	m := mage.NewMessage(0)
	m.Method = pipeSync
	if err := c.p.WriteMessage(m); err != nil {
		return 0, err
	}
	m, err := nextMessage(c.ctx, c.p)
	if err != nil {
		return 0, err
	}
	defer m.Release()
	if m.Method != pipeSync || len(m.Payload) != 8 {
		return 0, fmt.Errorf("%w: sync answered by method %d with %d bytes", errMagePipe, m.Method, len(m.Payload))
	}
	return int64(binary.LittleEndian.Uint64(m.Payload)), nil
}

// nextMessage waits for the next message on p.
func nextMessage(ctx context.Context, p mage.MessagePipe) (*mage.Message, error) {
	return p.WaitMessage(ctx)
}

// servePipe answers pipeClient's messages on p until the parent closes it.
func servePipe(ctx context.Context, p mage.MessagePipe) error {
	defer p.Close()
	var count int64
	for {
		m, err := nextMessage(ctx, p)
		if errors.Is(err, mage.ErrPeerClosed) || errors.Is(err, context.Canceled) {
			return nil
		}
		if err != nil {
			return err
		}
		switch m.Method {
		case pipeEcho:
			err = p.WriteMessage(m)
		case pipePush:
			count++
			m.Release() // its payload is read into again
		case pipeSync:
			m.Payload = binary.LittleEndian.AppendUint64(m.Payload[:0], uint64(count))
			count = 0
			err = p.WriteMessage(m)
		default:
			err = fmt.Errorf("%w: unknown method %d", errMagePipe, m.Method)
		}
		if err != nil {
			return err
		}
	}
}

// mageSession is a child joined to a node of the parent's own over an
// invitation; each client is a pipe attached to it.
type mageSession struct {
	ch      *child
	node    *mage.Node
	conn    *mage.Connection
	clients []client
	closers []func() error
}

func (s *mageSession) client(i int) client { return s.clients[i] }
func (s *mageSession) control() *control   { return s.ch.ctl }

func (s *mageSession) close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
	}
	errs = append(errs, s.node.Close(), s.ch.stop())
	return errors.Join(errs...)
}

// startMage invites a child of role key with the named pipes attached and
// returns the parent's ends.
func startMage(ctx context.Context, key string, names []string, profileDir string) (*child, *mage.Node, *mage.Connection, []mage.MessagePipe, error) {
	ch, err := newChild(key, 0, profileDir)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	node := mage.NewNode(mage.NodeOptions{})
	inv := invitation.New(node)
	var pipes []mage.MessagePipe
	fail := func(err error) (*child, *mage.Node, *mage.Connection, []mage.MessagePipe, error) {
		inv.Close()
		_ = node.Close()
		ch.discard()
		return nil, nil, nil, nil, fmt.Errorf("bench: %s: %w", key, err)
	}
	for _, name := range names {
		p, err := inv.Attach(name)
		if err != nil {
			return fail(err)
		}
		pipes = append(pipes, p)
	}
	if err := inv.PrepareCommand(ch.cmd); err != nil {
		return fail(err)
	}
	err = ch.start()
	inv.CloseChildSide()
	if err != nil {
		inv.Close()
		_ = node.Close()
		return nil, nil, nil, nil, err
	}
	conn, err := inv.Send(ctx)
	if err != nil {
		_ = node.Close()
		return nil, nil, nil, nil, errors.Join(fmt.Errorf("bench: %s: %w", key, err), ch.stop())
	}
	return ch, node, conn, pipes, nil
}

func clientNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = "c" + strconv.Itoa(i)
	}
	return names
}

// acceptPipes accepts this child's invitation and returns its pipes in
// name order.
func acceptPipes(ctx context.Context) ([]mage.MessagePipe, error) {
	acc, err := invitation.Accept(ctx)
	if err != nil {
		return nil, err
	}
	all := acc.Pipes()
	names := make([]string, 0, len(all))
	for name := range all {
		names = append(names, name)
	}
	sort.Strings(names)
	pipes := make([]mage.MessagePipe, 0, len(names))
	for _, name := range names {
		pipes = append(pipes, all[name])
	}
	return pipes, nil
}

func mageTypedContender() *contender { return mageTyped("mage-typed", "mage typed", false) }

// mageTypedInlineContender is mage typed with the child's Receivers
// dispatching on the goroutine that read each request
// (bindings.Receiver.SetDispatchInline), the opt-in for implementations
// that never block, as benchImpl's do not.
func mageTypedInlineContender() *contender {
	return mageTyped("mage-typed-inline", "mage typed, inline dispatch", true)
}

func mageTyped(key, name string, inline bool) *contender {
	return &contender{
		key:         key,
		name:        name,
		multiplexed: true,
		start: func(ctx context.Context, clients int, profileDir string) (session, error) {
			ch, node, conn, pipes, err := startMage(ctx, key, clientNames(clients), profileDir)
			if err != nil {
				return nil, err
			}
			s := &mageSession{ch: ch, node: node, conn: conn}
			for _, p := range pipes {
				r := benchmagen.NewBenchRemote(p)
				s.clients = append(s.clients, &typedClient{ctx: ctx, r: r})
				s.closers = append(s.closers, r.Close)
			}
			return s, nil
		},
		serve: func(ctx context.Context, env *childEnv) error {
			pipes, err := acceptPipes(ctx)
			if err != nil {
				return err
			}
			for _, p := range pipes {
				// benchImpl keeps no argument past its method (Echo's
				// result is encoded before the request is given back), so
				// its requests' payloads are read into again.
				r := benchmagen.BindBench(p, &benchImpl{})
				r.SetBorrowedBytes(true)
				r.SetDispatchInline(inline)
			}
			<-ctx.Done()
			return nil
		},
	}
}

func magePipeContender() *contender {
	return &contender{
		key:  "mage-pipe",
		name: "mage pipe",
		start: func(ctx context.Context, clients int, profileDir string) (session, error) {
			ch, node, conn, pipes, err := startMage(ctx, "mage-pipe", clientNames(clients), profileDir)
			if err != nil {
				return nil, err
			}
			s := &mageSession{ch: ch, node: node, conn: conn}
			for _, p := range pipes {
				s.clients = append(s.clients, &pipeClient{ctx: ctx, p: p})
				s.closers = append(s.closers, p.Close)
			}
			return s, nil
		},
		serve: func(ctx context.Context, env *childEnv) error {
			pipes, err := acceptPipes(ctx)
			if err != nil {
				return err
			}
			served := make(chan error, len(pipes))
			for _, p := range pipes {
				go func() { served <- servePipe(ctx, p) }()
			}
			var errs []error
			for range pipes {
				errs = append(errs, <-served)
			}
			return errors.Join(errs...)
		},
	}
}
