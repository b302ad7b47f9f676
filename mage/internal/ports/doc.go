// Package ports is the pure port state machine of one node (process): the
// addressing, sequencing, proxying and closure rules that keep a message
// pipe reliable and ordered while its ends move between processes.
//
// # Model
//
// Every node and every port has a random 128-bit name. A pipe is a pair of
// ports, each knowing its peer's [Address]. A port is either receiving
// (messages queue until the runtime takes them) or proxying (it was moved to
// another node and forwards what still arrives to its new location). A
// closed port is removed from the node.
//
// Every user message carries a per-direction sequence number starting at 1.
// A receiving port releases messages strictly in sequence order, holding
// early arrivals in a small reorder queue; a proxy forwards in the same
// order. This one rule keeps a pipe FIFO while its ends move.
//
// Sending a message that carries ports to another node moves each carried
// port: it becomes a proxy to a fresh port on the destination node, whose
// [Descriptor] travels in the [UserEvent]; messages queued on the moved port
// follow it, in order, recursively. A moved port keeps its sequence numbers
// and keeps sending straight to its peer's address.
//
// Closure carries the last sequence number sent, so the peer reports
// [Status].PeerClosed only after it took everything sent before. A
// receiving port that sees its peer close answers with its own last
// sequence number, so the proxies on the way to the closed peer learn when
// they may go; after both ends closed, no port remains anywhere.
//
// # Node loss
//
// [Node.LostNode] closes, with [ReasonNodeLost], every port whose pipe can
// no longer be served: ports whose peer lives on the lost node, proxies that
// forward to it, and ports that might still be waiting for something that
// was in flight from it. The last case needs to know where a pipe end's
// messages come from. A port counts, per node, the "sending stints" of its
// peer end: the peer starts on one node, and every move ends the stint on
// the old node and starts one on the new. An adopted port also watches the
// node whose proxy forwards to it. The node a port is moved to acknowledges
// it ([PortAcceptedEvent]); only then does the old node tell the peer
// ([PeerMovedEvent]), on the same link as, so behind, every message the end
// sent from there. So a port stops watching a node only once nothing for it
// can be in flight from there and the end has safely arrived elsewhere, and
// a proxy stays until its move was acknowledged, because until then it alone
// can report that the destination died with the port on its way. A port
// that is cut off delivers what it holds in sequence and then reports the
// peer closed: a prefix, in order, never duplicated.
//
// # Contract
//
// Node is deterministic and single-threaded: no I/O, no goroutines, no
// locks. The caller serialises every call (one mutex in the runtime) and
// carries events: [Node.TakeOutgoing] yields events for other nodes, to be
// sent in the order returned (per destination, the links must be FIFO), and
// [Node.AcceptEvent] takes events that arrived. Events between ports of the
// same node never leave the node. Bodies are opaque; Config.DropBody is
// called for every body the node discards, so the runtime can close the OS
// handles inside.
//
// Route collapsing (removing proxies while both ends stay open, Mojo's
// ObserveProxy protocol) is not implemented: a proxy lives until its pipe
// closes or a node on its route is lost, and a route grows by one hop per
// move.
//
// Sending a pipe end over its own pipe is refused where this node can see
// it; after both ends have moved it cannot, and such a message would chase
// itself around the route forever. The runtime must not do that (the same
// holds for a pipe end sent into a pipe whose receiving end travels inside
// the sent end's queue).
package ports
