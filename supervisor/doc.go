// Package supervisor is the interface between mage-run and the processes
// of the tree it runs.
//
// mage-run hands every process it starts a pipe, at the invitation
// attachment named Attachment ("mage-run"), on which it serves the
// Supervisor interface (defined in supervisor.magen, whose generated Go is
// in this package):
//
//	acc, err := invitation.Accept(ctx)
//	...
//	sup, err := supervisor.Connect(acc)
//	if errors.Is(err, supervisor.ErrNotSupervised) {
//		// started by hand or by another launcher: no mage-run to ask
//	}
//	instance, worker, err := sup.Launch(ctx, "worker", []string{"--fast"})
//
// Launch starts an on-demand process of the spec as the caller's child and
// returns a pipe to it (the new process finds its end at the attachment
// ParentAttachment). Reconnect gets a new pipe for an attachment whose
// process at the other end was restarted.
//
// An attachment whose pipe joins the process to a replicated or on-demand
// process carries the Peers interface instead of a plain pipe: serve it
// with BindPeers, and mage-run calls Connected once for each start of each
// instance at the other end.
//
// mage-run also tells each process who it is through the environment:
// EnvInstance, EnvProcess and EnvReplica.
//
// To regenerate the bindings after changing supervisor.magen:
//
//	go generate ./supervisor
package supervisor

//go:generate go tool magen supervisor.magen
