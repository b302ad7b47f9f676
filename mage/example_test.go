package mage_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/mage-ipc/mage/mage"
)

// Two ends of a pipe in one process: what one writes, the other reads, in
// order, and the closure comes after the last message.
func ExampleCreatePipe() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := mage.CreatePipe()
	_ = a.WriteMessage(&mage.Message{Payload: []byte("hello")})
	_ = a.WriteMessage(&mage.Message{Payload: []byte("world")})
	_ = a.Close()
	for {
		m, err := b.WaitMessage(ctx)
		if errors.Is(err, mage.ErrPeerClosed) {
			fmt.Println("peer closed")
			break
		}
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(string(m.Payload))
	}
	_ = b.Close()
	// Output:
	// hello
	// world
	// peer closed
}

// An end of one pipe travels inside a message on another. The sender's
// handle is gone (ErrPipeMoved); the receiver's copy works, and it would
// work the same in another process.
func ExampleMessagePipe_WriteMessage_sendAPipe() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	carrierA, carrierB := mage.CreatePipe()
	defer carrierA.Close()
	defer carrierB.Close()
	x, y := mage.CreatePipe()
	defer x.Close()

	_ = x.WriteMessage(&mage.Message{Payload: []byte("queued before the move")})
	if err := carrierA.WriteMessage(&mage.Message{Payload: []byte("here is y"), Pipes: []mage.MessagePipe{y}}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("y after sending:", y.WriteMessage(&mage.Message{}))

	m, err := carrierB.WaitMessage(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	moved := m.Pipes[0]
	defer moved.Close()
	_ = x.WriteMessage(&mage.Message{Payload: []byte("sent after the move")})
	for range 2 {
		got, err := moved.WaitMessage(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(string(m.Payload)+":", string(got.Payload))
	}
	// Output:
	// y after sending: mage: pipe was sent away
	// here is y: queued before the move
	// here is y: sent after the move
}

// Two nodes, as two processes would have, joined over a socket pair: each
// side calls Connect, and the pipe attached as "main" crosses in the
// handshake.
func ExampleConnect() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	parent := mage.NewNode(mage.NodeOptions{})
	defer parent.Close()
	child := mage.NewNode(mage.NodeOptions{})
	defer child.Close()
	parentSock, childSock, err := unixSocketPair()
	if err != nil {
		fmt.Println(err)
		return
	}

	mine, theirs := parent.CreatePipe()
	_ = mine.WriteMessage(&mage.Message{Payload: []byte("written before the child connected")})
	connected := make(chan error, 1)
	go func() {
		_, err := parent.Connect(ctx, parentSock, mage.ConnectOptions{
			Attach: map[string]mage.MessagePipe{"main": theirs},
		})
		connected <- err
	}()
	conn, err := child.Connect(ctx, childSock, mage.ConnectOptions{})
	if err := errors.Join(err, <-connected); err != nil {
		fmt.Println(err)
		return
	}
	p, _ := conn.Pipe("main")
	m, err := p.WaitMessage(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(m.Payload))
	// Output:
	// written before the child connected
}

// unixSocketPair returns the two ends of a connected Unix stream socket, as
// a launcher would hand a child one end. (The launcher and invitation
// packages do this for you.)
func unixSocketPair() (*net.UnixConn, *net.UnixConn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, nil, err
	}
	var conns [2]*net.UnixConn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		_ = f.Close()
		if err != nil {
			return nil, nil, err
		}
		conns[i] = c.(*net.UnixConn)
	}
	return conns[0], conns[1], nil
}
