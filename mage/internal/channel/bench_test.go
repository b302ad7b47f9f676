package channel

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

// funcHandler adapts functions to Handler for the benchmarks.
type funcHandler struct {
	frame func(f *wire.Frame, fds []int)
}

func (h funcHandler) HandleFrame(f *wire.Frame, fds []int) { h.frame(f, fds) }
func (h funcHandler) HandleError(error)                    {}

func benchPair(b *testing.B, opts Options, ha, hb Handler) (a, bb *Channel) {
	ca, cb := socketPair(b)
	a, bb = New(ca, ha, opts), New(cb, hb, opts)
	b.Cleanup(func() { a.Close(); bb.Close() })
	return a, bb
}

// BenchmarkPingPong measures a round trip of a small frame: a sends, b's
// handler echoes from its reader goroutine, a's handler wakes the loop.
func BenchmarkPingPong(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts Options
	}{{"direct", Options{}}, {"writer-goroutine", Options{noDirectWrite: true}}} {
		b.Run(mode.name, func(b *testing.B) {
			pong := make(chan struct{}, 1)
			var echo *Channel
			a, bc := benchPair(b, mode.opts,
				funcHandler{func(*wire.Frame, []int) { pong <- struct{}{} }},
				funcHandler{func(f *wire.Frame, _ []int) {
					u := f.User
					_ = echo.SendFunc(func(buf []byte) []byte { return wire.AppendUser(buf, &u) }, nil)
				}})
			echo = bc
			a.Start()
			bc.Start()
			u := &wire.User{Target: port(1), Sender: port(0x7e), Payload: make([]byte, 64)}
			b.ReportAllocs()
			for b.Loop() {
				u.Seq++
				if err := a.SendFunc(func(buf []byte) []byte { return wire.AppendUser(buf, u) }, nil); err != nil {
					b.Fatal(err)
				}
				<-pong
			}
		})
	}
}

// BenchmarkThroughput measures one-way streaming of frames of a few sizes.
// The sender keeps at most about 1 MiB outstanding (the receiver hands back
// a credit every creditEvery frames), so the numbers show the steady state
// rather than the cost of an ever-growing queue.
func BenchmarkThroughput(b *testing.B) {
	const creditEvery = 16
	for _, size := range []int{64, 1024, 64 << 10, 1 << 20} {
		for _, mode := range []struct {
			name string
			opts Options
			// user sends with SendUser, which leaves large payloads
			// uncopied, instead of SendFunc.
			user bool
			// pooled gives each large payload a buffer of its own from a
			// free list on both sides, and returns it there when done
			// (Options.PayloadSent, Options.NewPayload): what a sender
			// that may not reuse a payload until it is written, and a
			// receiver that hands payloads back, cost.
			pooled bool
		}{
			{"direct", Options{}, false, false},
			{"writer-goroutine", Options{noDirectWrite: true}, false, false},
			{"senduser", Options{}, true, false},
			{"senduser-pooled", Options{}, true, true},
		} {
			b.Run(fmt.Sprintf("%dB/%s", size, mode.name), func(b *testing.B) {
				u := &wire.User{Target: port(1), Sender: port(0x7e), Payload: make([]byte, size)}
				window := max(creditEvery, (1<<20)/u.EncodedLen()/creditEvery*creditEvery)
				credits := make(chan struct{}, window/creditEvery+2)
				// Each free list holds at most what can be outstanding.
				sendFree, recvFree := newFreeList(window+1, size), newFreeList(window+1, size)
				opts := mode.opts
				if mode.pooled {
					opts.PayloadSent, opts.NewPayload = sendFree.put, recvFree.get
				}
				var got atomic.Int64
				a, bc := benchPair(b, opts, funcHandler{func(*wire.Frame, []int) {}},
					funcHandler{func(f *wire.Frame, _ []int) {
						if mode.pooled && len(f.User.Payload) >= largePayload {
							recvFree.put(f.User.Payload)
						}
						if got.Add(1)%creditEvery == 0 {
							credits <- struct{}{} // never blocks: see the capacity
						}
					}})
				a.Start()
				bc.Start()
				b.SetBytes(int64(u.EncodedLen()))
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if i >= window && i%creditEvery == 0 {
						<-credits
					}
					if mode.pooled && size >= largePayload {
						u.Payload = sendFree.get(size)
					}
					var err error
					if mode.user {
						err = a.SendUser(u, nil)
					} else {
						err = a.SendFunc(func(buf []byte) []byte { return wire.AppendUser(buf, u) }, nil)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				// Wait for the tail.
				for got.Load() < int64(b.N)/creditEvery*creditEvery {
					<-credits
				}
			})
		}
	}
}

// BenchmarkThroughputRawSocket is the ceiling BenchmarkThroughput is
// compared with: the same sizes over the same kind of socket pair, framed
// as the bench harness's raw contender frames them (an 8-byte length, the
// payload by writev, a 64 KiB bufio.Reader and one reused buffer on the
// receiving side), with the same window of about 1 MiB in flight.
func BenchmarkThroughputRawSocket(b *testing.B) {
	const creditEvery = 16
	for _, size := range []int{64, 1024, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			ca, cb := socketPair(b)
			b.Cleanup(func() { ca.Close(); cb.Close() })
			frame := 8 + size
			window := max(creditEvery, (1<<20)/frame/creditEvery*creditEvery)
			credits := make(chan struct{}, window/creditEvery+2)
			readErr := make(chan error, 1)
			go func() {
				r := bufio.NewReaderSize(cb, 64<<10)
				var hdr [8]byte
				buf := make([]byte, size)
				for n := 1; ; n++ {
					if _, err := io.ReadFull(r, hdr[:]); err != nil {
						readErr <- err
						return
					}
					if _, err := io.ReadFull(r, buf[:binary.LittleEndian.Uint64(hdr[:])]); err != nil {
						readErr <- err
						return
					}
					if n%creditEvery == 0 {
						credits <- struct{}{}
					}
				}
			}()
			payload := make([]byte, size)
			var hdr [8]byte
			binary.LittleEndian.PutUint64(hdr[:], uint64(size))
			b.SetBytes(int64(frame))
			b.ReportAllocs()
			taken := 0
			b.ResetTimer()
			for i := range b.N {
				if i >= window && i%creditEvery == 0 {
					<-credits
					taken++
				}
				bufs := net.Buffers{hdr[:], payload}
				if _, err := bufs.WriteTo(ca); err != nil {
					b.Fatal(err)
				}
			}
			// Wait for the tail.
			for ; taken < b.N/creditEvery; taken++ {
				<-credits
			}
			b.StopTimer()
			ca.Close()
			<-readErr
		})
	}
}

// freeList is a bounded list of buffers of one size, for the pooled
// benchmarks.
type freeList struct {
	size int
	free chan []byte
}

func newFreeList(n, size int) *freeList {
	return &freeList{size: size, free: make(chan []byte, n)}
}

// get returns a buffer of n bytes, from the list if it has one.
func (l *freeList) get(n int) []byte {
	if n == l.size {
		select {
		case b := <-l.free:
			return b
		default:
		}
	}
	return make([]byte, n)
}

// put returns b to the list, or drops it if the list is full.
func (l *freeList) put(b []byte) {
	if len(b) != l.size {
		return
	}
	select {
	case l.free <- b:
	default:
	}
}
