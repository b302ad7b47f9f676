package main

import (
	"context"
	"fmt"
	"net/rpc"
	"os"
	"sync/atomic"
)

// pushWindow is how many pushes a client without one-way messages (net/rpc)
// keeps in flight before it waits for the oldest answer.
const pushWindow = 1024

// RPCBench is the net/rpc service (gob over the socket); one per
// connection, so that counts are per client.
type RPCBench struct{ pushed atomic.Int64 }

// Echo returns its argument.
func (b *RPCBench) Echo(p []byte, reply *[]byte) error { *reply = p; return nil }

// Push counts its argument.
func (b *RPCBench) Push(p []byte, reply *bool) error { b.pushed.Add(1); return nil }

// Sync returns the pushes since the last Sync.
func (b *RPCBench) Sync(_ bool, reply *int64) error { *reply = b.pushed.Swap(0); return nil }

// rpcClient is a net/rpc client. net/rpc has no one-way calls: a push is an
// asynchronous call whose answer is collected later, at most pushWindow of
// them in flight.
type rpcClient struct {
	c        *rpc.Client
	inflight chan *rpc.Call
}

func (c *rpcClient) call(p []byte) error {
	var reply []byte
	if err := c.c.Call("Bench.Echo", p, &reply); err != nil {
		return err
	}
	if len(reply) != len(p) {
		return fmt.Errorf("bench: net/rpc echo of %d bytes came back with %d", len(p), len(reply))
	}
	return nil
}

func (c *rpcClient) push(p []byte) error {
	if len(c.inflight) == cap(c.inflight) {
		oldest := <-c.inflight
		<-oldest.Done
		if oldest.Error != nil {
			return oldest.Error
		}
	}
	c.inflight <- c.c.Go("Bench.Push", p, new(bool), make(chan *rpc.Call, 1))
	return nil
}

func (c *rpcClient) sync() (int64, error) {
	for len(c.inflight) > 0 {
		call := <-c.inflight
		<-call.Done
		if call.Error != nil {
			return 0, call.Error
		}
	}
	var n int64
	err := c.c.Call("Bench.Sync", true, &n)
	return n, err
}

func netRPCContender() *contender {
	return &contender{
		key:         "netrpc",
		name:        "net/rpc gob",
		multiplexed: true,
		start: func(ctx context.Context, clients int, profileDir string) (session, error) {
			return startRaw(ctx, "netrpc", clients, profileDir, func(f *os.File) (client, func() error, error) {
				u, err := unixConn(f)
				if err != nil {
					return nil, nil, err
				}
				c := rpc.NewClient(u)
				return &rpcClient{c: c, inflight: make(chan *rpc.Call, pushWindow)}, c.Close, nil
			})
		},
		serve: func(ctx context.Context, env *childEnv) error {
			return serveEach(env.channels, func(f *os.File) error {
				u, err := unixConn(f)
				if err != nil {
					return err
				}
				srv := rpc.NewServer()
				if err := srv.RegisterName("Bench", &RPCBench{}); err != nil {
					return err
				}
				srv.ServeConn(u)
				return nil
			})
		},
	}
}
