package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// The raw contenders frame each message with an 8-byte header: the payload
// length and the kind, both little-endian uint32.
const (
	rawHeader = 8
	// rawMaxPayload bounds what a raw child accepts from its parent.
	rawMaxPayload = 16 << 20
	rawReadBuffer = 64 << 10
)

// Kinds of raw frames.
const (
	rawEcho uint32 = 1 + iota // echoed back as it is
	rawPush                   // counted
	rawSync                   // answered with the count since the last sync, 8 bytes
)

var errRawFrame = errors.New("bench: raw frame")

// rawCopyMax is the largest payload the raw writers copy behind the header
// into one write(2); larger ones go with writev(2), uncopied.
const rawCopyMax = 64 << 10

// rawConn is one framed stream: a buffered reader, and a writer that sends
// small frames with one write of a reused buffer and large ones with a
// vectored write. It allocates nothing per frame.
type rawConn struct {
	r    *bufio.Reader
	w    func(b []byte) error
	wv   func(hdr, p []byte) error
	wbuf []byte
	rhdr [rawHeader]byte
	buf  []byte
}

func (c *rawConn) write(kind uint32, p []byte) error {
	c.wbuf = binary.LittleEndian.AppendUint32(c.wbuf[:0], uint32(len(p)))
	c.wbuf = binary.LittleEndian.AppendUint32(c.wbuf, kind)
	if len(p) > rawCopyMax {
		return c.wv(c.wbuf, p)
	}
	c.wbuf = append(c.wbuf, p...)
	return c.w(c.wbuf)
}

// read reads one frame; the payload is valid until the next read.
func (c *rawConn) read() (uint32, []byte, error) {
	hdr := c.rhdr[:]
	if _, err := io.ReadFull(c.r, hdr); err != nil {
		return 0, nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[0:])
	kind := binary.LittleEndian.Uint32(hdr[4:])
	if n > rawMaxPayload {
		return 0, nil, fmt.Errorf("%w: payload of %d bytes exceeds %d", errRawFrame, n, rawMaxPayload)
	}
	if cap(c.buf) < int(n) {
		c.buf = make([]byte, n)
	}
	p := c.buf[:n]
	if _, err := io.ReadFull(c.r, p); err != nil {
		return 0, nil, fmt.Errorf("%w: payload: %w", errRawFrame, err)
	}
	return kind, p, nil
}

func (c *rawConn) call(p []byte) error {
	if err := c.write(rawEcho, p); err != nil {
		return err
	}
	kind, q, err := c.read()
	if err != nil {
		return err
	}
	if kind != rawEcho || len(q) != len(p) {
		return fmt.Errorf("%w: echo of %d bytes came back as kind %d with %d", errRawFrame, len(p), kind, len(q))
	}
	return nil
}

func (c *rawConn) push(p []byte) error { return c.write(rawPush, p) }

func (c *rawConn) sync() (int64, error) {
	if err := c.write(rawSync, nil); err != nil {
		return 0, err
	}
	kind, q, err := c.read()
	if err != nil {
		return 0, err
	}
	if kind != rawSync || len(q) != 8 {
		return 0, fmt.Errorf("%w: sync answered by kind %d with %d bytes", errRawFrame, kind, len(q))
	}
	return int64(binary.LittleEndian.Uint64(q)), nil
}

// serveRaw answers frames on c until EOF.
func serveRaw(c *rawConn) error {
	var count int64
	for {
		kind, p, err := c.read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch kind {
		case rawEcho:
			err = c.write(rawEcho, p)
		case rawPush:
			count++
		case rawSync:
			var v [8]byte
			binary.LittleEndian.PutUint64(v[:], uint64(count))
			count = 0
			err = c.write(rawSync, v[:])
		default:
			err = fmt.Errorf("%w: unknown kind %d", errRawFrame, kind)
		}
		if err != nil {
			return err
		}
	}
}

// netRawConn frames a *net.UnixConn: reads through the netpoller, writes
// with writev.
func netRawConn(u *net.UnixConn) *rawConn {
	return &rawConn{
		r: bufio.NewReaderSize(u, rawReadBuffer),
		w: func(b []byte) error {
			_, err := u.Write(b)
			return err
		},
		wv: func(hdr, p []byte) error {
			bufs := net.Buffers{hdr, p}
			_, err := bufs.WriteTo(u)
			return err
		},
	}
}

// fdReader reads a blocking descriptor with read(2).
type fdReader int

func (fd fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// writevAll writes hdr and p to a blocking descriptor, however many
// write(2) or writev(2) calls that takes.
func writevAll(fd int, hdr, p []byte) error {
	for len(p) == 0 && len(hdr) > 0 {
		n, err := unix.Write(fd, hdr)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		hdr = hdr[n:]
	}
	iov := [2][]byte{hdr, p}
	bufs := iov[:]
	for len(bufs) > 0 {
		n, err := unix.Writev(fd, bufs)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		for len(bufs) > 0 && n >= len(bufs[0]) {
			n -= len(bufs[0])
			bufs = bufs[1:]
		}
		if n > 0 {
			bufs[0] = bufs[0][n:]
		}
	}
	return nil
}

// blockingRawConn frames a socket in blocking mode with plain read(2) and
// writev(2): no netpoller. Its users lock their goroutine to a thread.
func blockingRawConn(f *os.File) *rawConn {
	fd := int(f.Fd()) // Fd puts the descriptor in blocking mode
	return &rawConn{
		r:  bufio.NewReaderSize(fdReader(fd), rawReadBuffer),
		w:  func(b []byte) error { return writevAll(fd, b, nil) },
		wv: func(hdr, p []byte) error { return writevAll(fd, hdr, p) },
	}
}

func rawNetContender() *contender {
	return &contender{
		key:  "raw",
		name: "raw socket (net.UnixConn)",
		start: func(ctx context.Context, clients int, profileDir string) (session, error) {
			return startRaw(ctx, "raw", clients, profileDir, func(f *os.File) (client, func() error, error) {
				u, err := unixConn(f)
				if err != nil {
					return nil, nil, err
				}
				return netRawConn(u), u.Close, nil
			})
		},
		serve: func(ctx context.Context, env *childEnv) error {
			return serveEach(env.channels, func(f *os.File) error {
				u, err := unixConn(f)
				if err != nil {
					return err
				}
				defer u.Close()
				return serveRaw(netRawConn(u))
			})
		},
	}
}

func rawBlockingContender() *contender {
	return &contender{
		key:        "raw-blocking",
		name:       "raw, blocking syscalls",
		lockThread: true,
		start: func(ctx context.Context, clients int, profileDir string) (session, error) {
			return startRaw(ctx, "raw-blocking", clients, profileDir, func(f *os.File) (client, func() error, error) {
				return blockingRawConn(f), f.Close, nil
			})
		},
		serve: func(ctx context.Context, env *childEnv) error {
			return serveEach(env.channels, func(f *os.File) error {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				defer f.Close()
				return serveRaw(blockingRawConn(f))
			})
		},
	}
}

// startRaw starts a child of a socket-based contender and makes one client
// per channel socket with open.
func startRaw(_ context.Context, key string, clients int, profileDir string, open func(*os.File) (client, func() error, error)) (session, error) {
	ch, err := newChild(key, clients, profileDir)
	if err != nil {
		return nil, err
	}
	if err := ch.start(); err != nil {
		return nil, err
	}
	s := &baseSession{ch: ch}
	for i := range clients {
		c, closer, err := open(ch.takeChannel(i))
		if err != nil {
			_ = s.close()
			return nil, err
		}
		s.clients = append(s.clients, c)
		s.closers = append(s.closers, closer)
	}
	return s, nil
}

// serveEach runs serve on every channel, each on its own goroutine, and
// returns the first error once all have ended.
func serveEach(channels []*os.File, serve func(*os.File) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(channels))
	for i, f := range channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = serve(f)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
