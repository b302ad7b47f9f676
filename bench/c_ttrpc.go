package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ttrpc's codec is protobuf and cannot be replaced, so its messages are the
// well-known wrappers: a BytesValue is the payload behind a 2 to 5 byte
// field header, the nearest ttrpc comes to moving raw bytes.
const ttrpcService = "bench.Bench"

// ttrpcClient is a ttrpc client on one connection. A push is a message on a
// client stream that sync closes; the stream's answer is the count.
type ttrpcClient struct {
	ctx    context.Context
	c      *ttrpc.Client
	stream ttrpc.ClientStream
	msg    wrapperspb.BytesValue
}

func (c *ttrpcClient) call(p []byte) error {
	var reply wrapperspb.BytesValue
	if err := c.c.Call(c.ctx, ttrpcService, "Echo", wrapperspb.Bytes(p), &reply); err != nil {
		return err
	}
	if len(reply.Value) != len(p) {
		return fmt.Errorf("bench: ttrpc echo of %d bytes came back with %d", len(p), len(reply.Value))
	}
	return nil
}

func (c *ttrpcClient) push(p []byte) error {
	if c.stream == nil {
		s, err := c.c.NewStream(c.ctx, &ttrpc.StreamDesc{StreamingClient: true}, ttrpcService, "Push", nil)
		if err != nil {
			return err
		}
		c.stream = s
	}
	c.msg.Value = p
	return c.stream.SendMsg(&c.msg)
}

func (c *ttrpcClient) sync() (int64, error) {
	if c.stream == nil {
		return 0, nil
	}
	s := c.stream
	c.stream = nil
	if err := s.CloseSend(); err != nil {
		return 0, err
	}
	var n wrapperspb.Int64Value
	if err := s.RecvMsg(&n); err != nil {
		return 0, err
	}
	return n.Value, nil
}

func ttrpcContender() *contender {
	return &contender{
		key:         "ttrpc",
		name:        "ttrpc",
		multiplexed: true,
		start: func(ctx context.Context, clients int, profileDir string) (session, error) {
			return startRaw(ctx, "ttrpc", clients, profileDir, func(f *os.File) (client, func() error, error) {
				u, err := unixConn(f)
				if err != nil {
					return nil, nil, err
				}
				c := ttrpc.NewClient(u)
				return &ttrpcClient{ctx: ctx, c: c}, c.Close, nil
			})
		},
		serve: serveTTRPC,
	}
}

func serveTTRPC(ctx context.Context, env *childEnv) error {
	srv, err := ttrpc.NewServer()
	if err != nil {
		return err
	}
	srv.RegisterService(ttrpcService, &ttrpc.ServiceDesc{
		Methods: map[string]ttrpc.Method{
			"Echo": func(_ context.Context, unmarshal func(any) error) (any, error) {
				var v wrapperspb.BytesValue
				if err := unmarshal(&v); err != nil {
					return nil, err
				}
				return &v, nil
			},
		},
		Streams: map[string]ttrpc.Stream{
			"Push": {
				StreamingClient: true,
				Handler: func(_ context.Context, ss ttrpc.StreamServer) (any, error) {
					var n int64
					for {
						var v wrapperspb.BytesValue
						err := ss.RecvMsg(&v)
						if errors.Is(err, io.EOF) {
							return wrapperspb.Int64(n), nil
						}
						if err != nil {
							return nil, err
						}
						n++
					}
				},
			},
		},
	})
	l, err := newFileListener(env.channels)
	if err != nil {
		return err
	}
	err = srv.Serve(ctx, l)
	if errors.Is(err, ttrpc.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// fileListener is a net.Listener that accepts the inherited sockets, one
// each, and then waits until it is closed: servers that want a listener
// (ttrpc) serve socketpairs through it.
type fileListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newFileListener(files []*os.File) (*fileListener, error) {
	l := &fileListener{conns: make(chan net.Conn, len(files)), closed: make(chan struct{})}
	for _, f := range files {
		u, err := unixConn(f)
		if err != nil {
			return nil, err
		}
		l.conns <- u
	}
	return l, nil
}

func (l *fileListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *fileListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *fileListener) Addr() net.Addr { return &net.UnixAddr{Name: "socketpair", Net: "unix"} }
