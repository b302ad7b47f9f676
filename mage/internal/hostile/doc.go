// Package hostile is a compromised child, for tests of the trust boundary.
//
// Main accepts an invitation the normal way, from the inherited socket and
// token named by the MAGE_INVITATION environment variable, and then speaks
// the wire format by hand on that socket, breaking one rule on purpose: the
// attack named by the EnvMode variable (see Modes). Tests run it as a real
// child process by re-executing their test binary, next to a healthy child,
// and check that the parent survives, loses nothing of its own, charges the
// attacker, and keeps nothing of it once it is gone.
//
// Peer, the raw side of a connection, is also what in-process tests use to
// play a misbehaving node over a socketpair.
package hostile
