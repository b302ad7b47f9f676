// Command bench runs mage side by side with the Go IPC libraries it competes
// with, and writes the results to docs/performance.md.
//
// Every contender runs a parent and a child as separate processes: the
// bench binary re-executes itself as the child (BENCH_CHILD in its
// environment names the contender), hands it one end of each socketpair
// through ExtraFiles (go-plugin makes its own connection) and a control
// socket on descriptor 3. Over the control socket the parent asks the child
// for its allocation counters and its idle-pipe memory, so each process
// measures itself; the contender's own channels carry only the workload.
//
// Usage:
//
//	cd bench && go run . -out ../docs/performance.md   # the full run, a few minutes
//	cd bench && go run . -quick                        # a smoke run, well under a minute
//
// The contenders run interleaved: in each repetition every contender runs
// every workload, the order of contenders rotated by one per repetition, and
// the report gives the median over repetitions. docs/performance.md says
// what each workload measures.
package main
