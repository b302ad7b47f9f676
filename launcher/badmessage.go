package launcher

import (
	"syscall"

	"github.com/mage-ipc/mage/mage"
)

// watchBadMessages registers, on node, a handler for messages the node
// rejects, and acts by the policy on those the child's node (peer) answers
// for: its own, and, when node is the broker, those of every node the
// child registered, at any depth (mage.ResponsibleNode).
func (c *Child) watchBadMessages(node *mage.Node, peer mage.NodeName) {
	remove := node.AddBadMessageHandler(func(from mage.NodeName, err error) {
		if mage.ResponsibleNode(from, err) == peer {
			c.badMessage(err)
		}
	})
	c.mu.Lock()
	c.removeBadHandler = remove
	c.mu.Unlock()
}

// badMessage runs on an I/O goroutine of the node: it must not block.
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
