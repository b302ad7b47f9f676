package channel

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// msgCalls makes recvmsg and sendmsg calls over several buffers with one
// reused message header and iovec array, so that a vectored call allocates
// nothing (x/sys/unix's RecvmsgBuffers and SendmsgBuffers allocate their
// iovecs on every call). One goroutine uses a msgCalls at a time.
type msgCalls struct {
	hdr unix.Msghdr
	iov []unix.Iovec
}

// setBuffers points the header at bufs, skipping empty ones, and at oob.
func (m *msgCalls) setBuffers(bufs [][]byte, oob []byte) {
	m.iov = m.iov[:0]
	for _, b := range bufs {
		if len(b) > 0 {
			v := unix.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			m.iov = append(m.iov, v)
		}
	}
	m.hdr = unix.Msghdr{}
	if len(m.iov) > 0 {
		m.hdr.Iov = &m.iov[0]
		m.hdr.SetIovlen(len(m.iov))
	}
	if len(oob) > 0 {
		m.hdr.Control = &oob[0]
		m.hdr.SetControllen(len(oob))
	}
}

// forget drops the pointers into the caller's buffers, which may be a
// payload handed on since.
func (m *msgCalls) forget() {
	clear(m.iov)
	m.hdr = unix.Msghdr{}
}

// recvmsg reads once into bufs and oob. The kernel marks received
// descriptors close-on-exec as it installs them (MSG_CMSG_CLOEXEC).
func (m *msgCalls) recvmsg(fd int, bufs [][]byte, oob []byte) (n, oobn, recvflags int, err error) {
	m.setBuffers(bufs, oob)
	defer m.forget()
	r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdr)), unix.MSG_CMSG_CLOEXEC)
	if e != 0 {
		return 0, 0, 0, e
	}
	return int(r), int(m.hdr.Controllen), int(m.hdr.Flags), nil
}

// sendmsg writes bufs, with oob as the control data, in one call.
func (m *msgCalls) sendmsg(fd int, bufs [][]byte, oob []byte) (int, error) {
	m.setBuffers(bufs, oob)
	defer m.forget()
	r, _, e := unix.Syscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdr)), 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
