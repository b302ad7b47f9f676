package channel

// setCloexec is a no-op on Linux: net.UnixConn.ReadMsgUnix passes
// MSG_CMSG_CLOEXEC, so the kernel sets FD_CLOEXEC atomically on receipt.
func setCloexec([]int) {}
