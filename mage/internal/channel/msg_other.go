//go:build !linux

package channel

import "golang.org/x/sys/unix"

// msgCalls makes recvmsg and sendmsg calls over several buffers. Here it
// leaves them to x/sys/unix, which allocates the iovecs on each call; the
// Linux version reuses them.
type msgCalls struct{}

// recvmsg reads once into bufs and oob. These systems have no
// MSG_CMSG_CLOEXEC: setCloexec marks the descriptors afterwards.
func (*msgCalls) recvmsg(fd int, bufs [][]byte, oob []byte) (n, oobn, recvflags int, err error) {
	n, oobn, recvflags, _, err = unix.RecvmsgBuffers(fd, bufs, oob, 0)
	return n, oobn, recvflags, err
}

// sendmsg writes bufs, with oob as the control data, in one call.
func (*msgCalls) sendmsg(fd int, bufs [][]byte, oob []byte) (int, error) {
	return unix.SendmsgBuffers(fd, bufs, oob, nil, 0)
}
