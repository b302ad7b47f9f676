// Package wake is a doorbell that one goroutine rings and another waits
// on through the runtime's network poller, instead of a channel.
//
// Why not a channel: a goroutine parked on a channel is made runnable by
// the goroutine that sends, and the runtime then wakes a second OS thread
// (wakep: a futex call, 3 to 9 us on the 2-vCPU machine the benchmarks run
// on, and a spinning thread that takes the CPU the other process needs)
// in case the woken goroutine could run in parallel. A goroutine parked on
// a descriptor is made runnable by the poller: when the ringing goroutine
// parks in turn (the connection's reader, going back to its socket), its
// own thread polls, finds the bell readable and runs the waiter next, with
// no second thread woken. Execution traces of a 16 B typed round trip
// between two processes show that hand-off at 2 to 9 us of the critical
// path on each side; through a Bell it is a write and a read of 8 bytes
// (docs/performance.md has the numbers), and nothing when the Ring comes
// before the Wait: a Bell's state word says whether its waiter has parked,
// so only a Ring that finds it parked writes, and the parked Wait reads
// once, after the poller saw that write, instead of first trying a read
// that fails.
//
// A Bell is an eventfd on Linux and a pipe elsewhere. Rings coalesce: a
// Wait returns once after any number of Rings since the last one, and may
// return when nothing rang (a ring left over from an earlier use), so a
// waiter checks its own condition and waits again.
package wake
