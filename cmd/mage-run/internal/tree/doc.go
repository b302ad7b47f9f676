// Package tree runs a spec's tree of processes: it starts every process
// with an invitation carrying the pipes the spec declares and mage-run's
// supervisor interface, restarts processes by their policies, tears down
// the children of a process that ended for good, stops the tree in order
// (children before parents), and serves Supervisor.Launch and Reconnect.
//
// # Instances
//
// A process block of the spec has instances: one per instance of its
// parent block, or Count of them (replicas), or, for an on-demand block,
// as many as its parent launches. Every instance has a name: the block's
// name, with "#N" for a replica or an on-demand instance, prefixed with its
// parent's name and "/" when an ancestor has several instances.
//
// # Pipes
//
// A pipe declaration joins one attachment of each of two blocks. Inside
// each instance of the innermost block enclosing both (the scope), the two
// ends meet one to one, or one to many when one side may have several
// instances there. A one-to-one pipe is made when the first of its
// instances starts; its far end waits in this process for the other.
// When an instance starts again after an exit, it gets a new pipe, and
// the instance at the other end gets the new far end through
// Supervisor.Reconnect. On the single side of a one-to-many pipe the
// attachment carries the Peers interface: mage-run calls Connected with a
// new pipe for every start of an instance on the many side.
//
// # Output
//
// Each line a process writes, on stdout or stderr, is logged through the
// instance's sub-logger (a structured line keeps its level: see
// launcher.ParseLogLine) or handed to Options.Output, kept for ctl logs,
// matched against the spec's announce and line probe, and written to the
// instance's log file when its block has a log block (lumberjack rotates
// it).
//
// # Concurrency
//
// One goroutine, the tree's loop, owns every instance, pipe and flag of a
// running Tree. Other goroutines (starts, stops, the launcher's exit
// callbacks, timers, supervisor requests) only send it events, and the
// loop runs until every instance has ended for good and every goroutine
// it started has reported back, so none outlives the Tree.
//
// # Process stats
//
// A sampler goroutine reads the CPU time and resident memory of every
// running process once a second (statsEvery); it sees only the pids the
// loop hands it as it publishes, and the loop stops it before the Tree is
// done. Snapshot adds the latest sample to each running row.
package tree
