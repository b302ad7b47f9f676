package launcher

import (
	"syscall"

	"github.com/mage-ipc/mage/mage"
)

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

// watchDescendants registers, on node, a handler that acts by the policy
// on the bad messages of the nodes the child registered with this node's
// broker, at any depth (mage.ResponsibleNode): they are charged to the
// child. The child's own faults reach badMessage through its connection.
func (c *Child) watchDescendants(node *mage.Node, peer mage.NodeName) {
	remove := node.AddBadMessageHandler(func(from mage.NodeName, err error) {
		if from != peer && mage.ResponsibleNode(from, err) == peer {
			c.badMessage(err)
		}
	})
	c.mu.Lock()
	c.removeBadHandler = remove
	c.mu.Unlock()
}

// badMessageEnding returns the bad message the child was killed for, or nil
// if it was not: a child whose first bytes break the rules is killed while
// Start still waits for its handshake, and Start must say why.
func (c *Child) badMessageEnding() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ending != nil && c.ending.cause == CauseBadMessage {
		return c.ending.err
	}
	return nil
}
