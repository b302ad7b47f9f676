// Package channel carries wire frames, and the file descriptors that ride
// with them, over one Unix SOCK_STREAM socket to one peer node.
//
// A Channel owns two goroutines, and on Linux a third that is parked for
// the connection's life. The reader reads into a reusable buffer,
// checks and decodes each frame with package wire, and hands it to a Handler
// together with the descriptors its header declares. It does all of that
// inside one syscall.RawConn.Read, so that after a read that emptied the
// socket it waits in the poller at once, where a RawConn.Read per read
// would have to try a read, which fails, first (each one begins by
// clearing what the poller saw). A read that returns the peer's last
// frames says nothing of a close that came with them, so on Linux a
// hang-up watch (an epoll instance with the socket registered for
// EPOLLRDHUP only, and the third goroutine waiting on it) tells the reader
// of the close; elsewhere the reader reads until a read finds the socket
// empty. The writer drains a
// pending buffer that Send appends to, so Send never blocks on the peer.
// When nothing is queued, Send first tries to write straight from the
// caller's goroutine without blocking, which saves a goroutine hand-off per
// message; whatever the socket does not take goes to the writer. A side
// that has written many frames in a row so while nothing came back (a
// one-way stream) leaves them to the writer instead, which then sends
// many per system call; a frame from the peer ends such a run. With
// Options.DeferDirectWrite, Send only queues and that write waits for the
// owner's WritePending, which it calls once it has released its own locks.
// WritePending makes its system call without the channel's lock too: the
// caller takes the queued batch as its own, so one writer at a time owns
// the socket, while others go on queueing behind it; what they queued goes
// out after it, many frames per call, and a batch the socket does not take
// whole goes to the writer goroutine, which finishes it before anything
// queued later. The bound on queued bytes counts the batch being written.
//
// # Large messages
//
// SendUser encodes a User frame straight into the pending buffer, and a
// payload of 16 KiB or more not at all: the buffer holds the frame's fixed
// part, and the payload is written from where it is with a vectored write
// (sendmsg with several buffers), so the pending buffer stays small and is
// reused however large the messages. The reader reads the payload of a
// large User frame (32 KiB or more) straight into a buffer of exactly the
// payload's length, which the frame's fixed part declares, and hands that
// buffer on as the payload, instead of reading into its shared buffer and
// copying out. The rest of the frame (padding, port descriptors) and the
// next frame's fixed part go into the shared buffer by the same recvmsg
// (two iovecs), so in a stream of large frames one call ends a payload and
// tells the length of the next (wire.UserPayloadLen and
// wire.DecodeUserWithoutPayload split the decoding so). The vectored calls
// reuse their message header and iovecs (msg_linux.go), so they allocate
// nothing. Options.NewPayload lets the owner supply those payload buffers
// (from buffers it got back), and Options.PayloadSent tells it when a
// payload SendUser left uncopied is no longer referred to, so that it can
// be reused: without them a payload is one fresh allocation per message
// on each side, which is most of what a large message costs (see
// docs/performance.md).
// A channel that carries large payloads asks the kernel for a 1 MiB send
// buffer (capped by the system's limits), so that a large frame takes fewer
// wake-ups; one of small frames keeps the default, which fills sooner and so
// makes the writer batch.
//
// # Descriptors
//
// Descriptors travel as SCM_RIGHTS ancillary data. On a stream socket that
// data is not aligned with frame boundaries, so the two sides agree on an
// order instead: the writer attaches a frame's descriptors to the sendmsg
// call whose bytes start at or before the frame (never later), at most
// maxFDsPerWrite per call and in frame order; the reader puts every received
// descriptor into one FIFO queue, and each decoded frame takes the number its
// header declares. A frame that declares more than have arrived breaks the
// channel, as does a truncated control message (MSG_CTRUNC) or a peer that
// sends more descriptors than the queue holds. Received descriptors are
// close-on-exec: on Linux the reader's recvmsg asks for MSG_CMSG_CLOEXEC, so
// the kernel sets the flag as it installs them; elsewhere this package sets
// FD_CLOEXEC right after the read, so a descriptor is never inherited by a
// child.
//
// # Backpressure
//
// The pending buffer is unbounded unless Options.MaxPendingBytes is set; then
// a Send that would queue more than that many bytes (or, with
// Options.MaxPendingFDs, descriptors) behind the write in progress fails
// with ErrBackpressure. The reader never waits for the
// writer, and the Handler must never block, so two nodes flooding each other
// cannot deadlock: each side's writer blocks only on its own socket buffer,
// which the peer's reader keeps draining.
//
// # Bounds on the peer
//
// Everything the peer can make the reader hold is bounded: a frame by
// Options.MaxFrameSize, and by Options.HandshakeFrameSize until the owner
// calls LiftHandshakeLimit; a User payload by Options.MaxUserPayload,
// checked before the payload's buffer is made; the time from a frame's first byte to its last
// by Options.FrameTimeout; descriptors that no frame has claimed yet by
// Options.MaxQueuedFDs. Every error caused by the peer's bytes matches
// ErrPeerFault, so the owner can tell misbehaviour from an ordinary end and
// charge it to the peer. Abort stops a channel from a place that holds
// locks the Handler takes (the owner cutting a slow reader, say).
//
// # Shutdown
//
// A channel stops when Close is called, when the peer closes the socket
// (io.EOF), when a frame fails to decode, or when the socket fails. Exactly
// once, after the reader has stopped, the Handler's HandleError receives the
// first of those reasons. Every descriptor still queued in either direction
// is closed. The reader's read holds a reference to the socket that closing
// it would wait for, so stopping wakes the reader and the writer with
// deadlines in the past instead, and the reader closes the socket on its
// way out, once the Handler method it runs (if any) has returned.
package channel
