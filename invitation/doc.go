// Package invitation establishes the first pipes between two processes.
//
// A parent makes an Invitation, attaches any number of named pipes to it
// (keeping the local ends, usable at once), and hands it to a child: either
// through an inherited socket (PrepareCommand, then Send), or through a
// named Unix socket that an unrelated process dials (Listen). The child
// calls Accept in its main and gets the other ends by name.
//
// The child learns where to find its invitation from one environment
// variable, EnvVar, in one of two forms:
//
//	MAGE_INVITATION=fd=3;broker=inviter;token=<64 hex digits>
//	MAGE_INVITATION=fd=3;broker=4;token=<64 hex digits>
//	MAGE_INVITATION=socket=<path or @abstract-name>;broker=inviter;token=<64 hex digits>
//
// fd is the inherited socket to the inviter; socket a named socket to dial
// instead. broker says where the tree's broker (its root node) is: the
// inviter itself, or a second inherited socket when the inviter is not the
// root. Without it the child has no broker. The broker introduces nodes that
// have no connection to each other, so pipes can travel between any two
// processes of the tree.
//
// Accept removes the variable from the environment so the child's own
// children do not inherit it, and checks the parent's token and protocol
// version before anything else is believed.
//
// Once the first pipe exists, more pipes travel inside messages, to any
// process of the tree.
package invitation
