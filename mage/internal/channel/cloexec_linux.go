package channel

// setCloexec is a no-op on Linux: the reader passes MSG_CMSG_CLOEXEC (see
// msgCalls.recvmsg), so the kernel sets FD_CLOEXEC atomically on receipt.
func setCloexec([]int) {}
