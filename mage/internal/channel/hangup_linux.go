package channel

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// hangupWatch tells the reader that the peer has closed or shut down its
// end of the socket, which a read that returned data cannot: the reader
// waits after a read that emptied the socket (reader.fillFrom), and the
// close that came with the data read would otherwise go unseen. It is an
// epoll instance with the socket registered for hang-ups only (data does
// not wake it), itself waited on through the runtime's poller by a
// goroutine that is parked for the whole life of a connection that ends
// well.
type hangupWatch struct {
	ep     *os.File
	raw    syscall.RawConn
	events [1]unix.EpollEvent
	done   chan struct{}
}

// startHangupWatch starts watching c's socket for a hang-up. It returns
// nil if it cannot (no descriptor to spare, say): then the reader reads
// again after every read until one finds the socket empty.
func startHangupWatch(c *Channel) *hangupWatch {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	var ctlErr error
	err = c.raw.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLRDHUP}
		ctlErr = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		err = ctlErr
	}
	if err == nil {
		// Non-blocking, so that os.NewFile hands it to the poller.
		err = unix.SetNonblock(epfd, true)
	}
	if err != nil {
		_ = unix.Close(epfd)
		return nil
	}
	h := &hangupWatch{ep: os.NewFile(uintptr(epfd), "hangup watch"), done: make(chan struct{})}
	if h.raw, err = h.ep.SyscallConn(); err != nil {
		_ = h.ep.Close()
		return nil
	}
	go h.run(c)
	return h
}

// run waits for the hang-up, then records it and wakes the reader with a
// deadline in the past (see reader.loop); it returns early when stop
// closes the watch.
func (h *hangupWatch) run(c *Channel) {
	defer close(h.done)
	if err := h.raw.Read(h.check); err != nil {
		return
	}
	c.peerHungUp.Store(true)
	_ = c.conn.SetReadDeadline(pastDeadline)
}

// check is run's RawConn callback: true once the epoll instance reports
// the hang-up (EPOLLRDHUP, or EPOLLHUP or EPOLLERR, which epoll always
// reports).
func (h *hangupWatch) check(fd uintptr) bool {
	for {
		n, err := unix.EpollWait(int(fd), h.events[:], 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}

// stop ends the watch and waits for its goroutine; nil does nothing.
func (h *hangupWatch) stop() {
	if h == nil {
		return
	}
	_ = h.ep.Close()
	<-h.done
}
