// Package launcher starts child processes that join this process's mage
// node, hands them their first pipes, and supervises them until they are
// reaped.
//
// Start runs an *exec.Cmd with an invitation (see package invitation): a
// close-on-exec socketpair whose child end is inherited through
// cmd.ExtraFiles, and a token in the MAGE_INVITATION environment variable.
// The child calls invitation.Accept in its main. Start returns once the
// child has accepted, with a Child whose pipes are ready; the caller's ends
// of the pipes are usable at once, and messages written to them before the
// child accepted are delivered in order. stdout and stderr stay the child's
// own: the handshake never travels over them.
//
// # Process group and parent death
//
// Each child leads a process group of its own, so that Stop and Kill reach
// the processes it started too, and so that a terminal's Ctrl-C, sent to the
// foreground group, reaches the parent alone, which decides how its children
// end. Each process gets one copy of a signal: the group's, or, for a child
// that left its group, its own (a second SIGTERM would end a program that
// takes a repeated stop signal as "force quit"). When the child
// itself exits, the launcher kills what is left of its group before reaping
// it: grandchildren do not outlive the child they belong to.
//
// On Linux the child is also started with a parent-death signal (SIGKILL),
// so it dies when this process does, even by SIGKILL. The kernel sends that
// signal when the OS thread that forked the child exits, not when the
// process does (golang/go#27505); Start therefore forks from a fresh
// goroutine, which is never locked to a thread, and Go only ends threads
// whose goroutine exited while locked with runtime.LockOSThread. A program
// whose goroutines do end while locked can still lose children that way;
// Options.NoParentDeathSignal turns the signal off. Whatever the platform,
// a child also learns of its parent's death by EOF on its invitation socket
// (invitation.Accepted.ParentGone, or AcceptOptions.ExitWhenParentGone),
// which is how it learns on macOS, where there is no parent-death signal.
//
// # Descendants
//
// A descendant that leaves the child's process group (setsid, setpgid) is
// not reached by signals to the group. On Linux every SIGKILL the launcher
// sends the child first goes to every process whose chain of parents leads
// to the child (a walk of /proc), and a process that calls BecomeSubreaper
// gets the orphans of its children's subtrees re-parented to it: when a
// child exits, the launcher kills and reaps every such orphan that carries
// the child's EnvTree marker, with its descendants. macOS has no
// subreaper; there only the group is signalled. docs/invitations.md lists
// what each platform guarantees and the limits.
//
// # Signals and reaping
//
// The child process is signalled through its os.Process, which on Linux
// holds a pidfd: a signal can never reach an unrelated process that reused
// the pid. A process group has no such handle, so the launcher signals the
// group only while its leader, the child, is known not to have been reaped:
// while it is unreaped, even as a zombie, its pid and therefore its group
// id cannot be reused. One goroutine per child waits for the child to exit
// without reaping it (waitid with WNOWAIT on Linux, kqueue on macOS), kills
// the rest of the group, and only then reaps it.
//
// # Errors, logs and exits
//
// A start that fails for any reason (exec error, a child that exits before
// accepting, one that does not accept within Options.AcceptTimeout, a
// cancelled context, a failed handshake) returns a *StartError carrying the
// child's exit status and the tail of its stderr when they are known; the
// child is killed and reaped and everything Start opened is closed.
//
// Logs go to an injected hclog.Logger, one Named sub-logger per child, as
// constant messages with key/value pairs. With Options.CaptureStderr the
// child's stderr is read line by line and re-emitted through that logger:
// lines written by an hclog JSON logger, or by log/slog's JSON or text
// handler, keep their level, message and keys (a slog level with an offset,
// "INFO+2", goes to the hclog level of its band). Such a line is parsed only
// when it is whole (at most 64 KiB) and has at most 128 keys; any other line
// is logged as it is. The reader finishes before Wait returns.
//
// Every child ends with an Exit: its status, and why it ended (ExitCause):
// on its own, Stop, Kill, or a bad message from it. A bad message is one
// that the child's node sent and that this node rejected (see
// mage.MessagePipe.ReportBadMessage), or, when this node is the broker, one
// from a node the child registered, at any depth (mage.BadMessageError's
// Responsible); by default the child is killed for it.
//
// The child's side, in its main:
//
//	acc, err := invitation.Accept(ctx)
//	if err != nil {
//		log.Fatal(err)
//	}
//	net, _ := acc.Pipe("net")
package launcher
