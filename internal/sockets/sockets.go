package sockets

import (
	"fmt"
	"net"
	"os"
)

// Pair returns two connected Unix stream sockets, close-on-exec, as files:
// one to keep and one to hand to another process (exec.Cmd's ExtraFiles
// clears close-on-exec on the copy the child gets) or to another node.
func Pair() (*os.File, *os.File, error) {
	fds, err := socketpair()
	if err != nil {
		return nil, nil, fmt.Errorf("sockets: socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "mage-socket"), os.NewFile(uintptr(fds[1]), "mage-socket"), nil
}

// Conn turns a file holding a connected Unix stream socket into a
// *net.UnixConn. The file is closed either way: the connection holds its own
// descriptor.
func Conn(f *os.File) (*net.UnixConn, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("sockets: %s is not a usable socket: %w", f.Name(), err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("sockets: %s is a %T, not a Unix socket", f.Name(), c)
	}
	return uc, nil
}

// ConnPair returns two connected *net.UnixConn, for joining two nodes in one
// process.
func ConnPair() (*net.UnixConn, *net.UnixConn, error) {
	fa, fb, err := Pair()
	if err != nil {
		return nil, nil, err
	}
	a, err := Conn(fa)
	if err != nil {
		_ = fb.Close()
		return nil, nil, err
	}
	b, err := Conn(fb)
	if err != nil {
		_ = a.Close()
		return nil, nil, err
	}
	return a, b, nil
}
