package supervisor

import (
	"context"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
)

// Redial returns a bindings.Redial that asks mage-run, through sup, for a
// new pipe to the process at the other end of this process's attachment
// once that process has been started again (Supervisor.Reconnect). With
// bindings.NewReconnecting it keeps a Remote to a process that mage-run
// restarts:
//
//	p, _ := acc.Pipe("db")
//	db := bindings.NewReconnecting(p, dbpb.NewStoreRemote, supervisor.Redial(sup, "db"))
//	defer db.Close()
//	r, err := db.Get(ctx) // a new Remote once the old one has disconnected
//
// Calls in flight when the process goes fail with bindings.ErrDisconnected
// and are not made again: only calls on the Remote Get returns afterwards
// reach the new process.
func Redial(sup *SupervisorRemote, attachment string) bindings.Redial {
	return func(ctx context.Context) (mage.MessagePipe, error) {
		return sup.Reconnect(ctx, attachment)
	}
}
