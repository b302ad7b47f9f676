package mage

// SetProtocolVersionForTest makes n speak another protocol version, to test
// the handshake's version check.
func SetProtocolVersionForTest(n *Node, v uint16) { n.version = v }
