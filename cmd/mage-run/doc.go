// Command mage-run launches, wires and supervises trees of processes that
// talk over mage message pipes.
//
// This first slice has one command, demo, which needs no files and no build
// step: mage-run re-executes itself in hidden roles (selected by the
// MAGE_RUN_DEMO_ROLE environment variable) to run a small tree.
//
//	mage-run demo [--workers N] [--jobs M]
//
// The parent (mage-run itself) launches one service process and N worker
// processes with the launcher, each with an invitation pipe named
// "control". For every worker it makes a new pipe, sends one end to the
// service and the other to the worker over their control pipes: the two
// siblings then talk directly over that pipe, routed through the parent's
// node. Each worker sends M jobs ("square 7"), checks every answer, reports
// a summary to the parent and exits. The parent prints one line per event,
// then a table of every process with its pid, exit status and message
// counts.
//
// Exit status: 0 when every worker got every answer right and every process
// exited cleanly; 1 when a worker or the service failed; 2 for a usage
// error; 128 plus the signal number when SIGINT or SIGTERM stopped the demo
// (the children are stopped first, each with a grace period).
//
// The spec-driven commands of the full tool (check, graph, run) are not
// written yet.
package main
