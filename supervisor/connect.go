package supervisor

import (
	"errors"

	"github.com/mage-ipc/mage/invitation"
)

// Attachment is the name of the invitation attachment on which mage-run
// serves the Supervisor interface to each process it starts. Spec files
// may not use it for pipes of their own.
const Attachment = "mage-run"

// ParentAttachment is the name of the attachment at which a process
// started by Supervisor.Launch finds its pipe to the process that launched
// it.
const ParentAttachment = "parent"

// Environment variables mage-run sets for every process it starts.
const (
	// EnvInstance holds the instance's name: the process's name for a
	// process of one instance, "name#N" for a replica or an on-demand
	// instance, prefixed with "parent-instance/" under a replicated
	// parent.
	EnvInstance = "MAGE_RUN_INSTANCE"
	// EnvProcess holds the name of the spec's process block.
	EnvProcess = "MAGE_RUN_PROCESS"
	// EnvReplica holds the instance's number among its siblings of the
	// same process block, from 1; it is 1 for a process of one instance.
	EnvReplica = "MAGE_RUN_REPLICA"
)

// ErrNotSupervised is returned by Connect in a process that was not
// started by mage-run.
var ErrNotSupervised = errors.New("supervisor: this process was not started by mage-run (its invitation has no \"" + Attachment + "\" attachment)")

// Connect returns a Remote for the Supervisor that mage-run serves to this
// process, from the pipes of its accepted invitation. It fails with
// ErrNotSupervised when the invitation has no Attachment: the process was
// started by hand or by another launcher.
//
// The Remote owns the pipe; close it when done. Calling Connect twice on
// the same invitation is an error: the pipe can be bound once.
func Connect(acc *invitation.Accepted) (*SupervisorRemote, error) {
	p, ok := acc.Pipe(Attachment)
	if !ok {
		return nil, ErrNotSupervised
	}
	return NewSupervisorRemote(p), nil
}
