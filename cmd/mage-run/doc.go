// Command mage-run launches, wires and supervises trees of processes that
// talk over mage message pipes. It is the root of the tree it runs, and so
// its broker.
//
//	mage-run run [--trace] [--view auto|live|plain] [--log-format text|json|console] SPEC
//	                                                       run and supervise a tree
//	mage-run check SPEC                                    validate a spec (exit 2 if invalid)
//	mage-run graph [--format dot|mermaid] SPEC             print a spec's topology
//	mage-run ctl status|restart|stop|start|scale|logs ...  control a running tree
//	mage-run demo [--workers N] [--jobs M]                 run the built-in demo tree
//	mage-run help [COMMAND|spec]                           help, from the binary alone
//
// A spec (HCL) nests process blocks to form the tree and joins their
// attachments with pipe blocks; internal/spec reads it. internal/tree runs
// it: starts, restarts, stop order, pipes and the supervisor interface
// (package supervisor), probes, log files. internal/view draws it, and
// console.go prints logs as "name | line" (--log-format console);
// internal/control
// serves it to mage-run ctl on a Unix socket. The demo (internal/demo)
// runs mage-run's own binary in roles selected by MAGE_RUN_DEMO_ROLE.
//
// main is os.Exit(run(...)); nothing below it exits the process. Exit
// statuses are documented in docs/mage-run.md.
package main
