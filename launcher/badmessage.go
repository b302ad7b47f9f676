package launcher

import "syscall"

// badMessage is the invitation's bad-message handler
// (invitation.Invitation.OnBadMessage), in place before the handshake
// starts, so that a child whose first write breaks the rules is charged
// too. It runs on an I/O goroutine of the node: it must not block.
func (c *Child) badMessage(err error) {
	c.log.Warn("bad message from child", "pid", c.pid, "policy", c.policy, "error", err)
	if c.policy != KillOnBadMessage {
		return
	}
	e := ending{cause: CauseBadMessage, reason: "killed: bad message: " + err.Error(), err: err}
	if kerr := c.end(e, syscall.SIGKILL); kerr != nil {
		c.log.Error("killing child failed", "pid", c.pid, "error", kerr)
	}
}
