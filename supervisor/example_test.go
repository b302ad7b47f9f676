package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/supervisor"
)

// standIn plays mage-run's side of the Supervisor interface for the
// example: it "launches" an instance by making a pipe.
type standIn struct {
	node      *mage.Node
	instances []mage.MessagePipe
}

func (s *standIn) Launch(_ context.Context, process string, _ []string) (string, mage.MessagePipe, error) {
	mine, theirs := s.node.CreatePipe()
	s.instances = append(s.instances, theirs)
	return fmt.Sprintf("%s#%d", process, len(s.instances)), mine, nil
}

func (s *standIn) Reconnect(context.Context, string) (mage.MessagePipe, error) {
	return mage.MessagePipe{}, errors.New("not restarted")
}

func (s *standIn) Ready(context.Context) error { return nil }

// A process run by mage-run asks it to launch an on-demand child. The
// process's main accepts its invitation and calls Connect; mage-run, the
// other side, is played here by a node of this same process that invites
// the process's node by value.
func ExampleConnect() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runNode := mage.NewNode(mage.NodeOptions{})
	defer runNode.Close()
	processNode := mage.NewNode(mage.NodeOptions{})
	defer processNode.Close()

	// mage-run's side: the invitation carries the Supervisor attachment.
	inv := invitation.New(runNode)
	served, _ := inv.Attach(supervisor.Attachment)
	impl := &standIn{node: runNode}
	receiver := supervisor.BindSupervisor(served, impl)
	defer receiver.Close()
	value, err := inv.ChildValue()
	if err != nil {
		fmt.Println(err)
		return
	}
	accepted := make(chan *invitation.Accepted, 1)
	go func() {
		// The process's main would call invitation.Accept(ctx).
		acc, err := invitation.AcceptFrom(ctx, value, invitation.AcceptOptions{Node: processNode})
		if err != nil {
			fmt.Println(err)
		}
		accepted <- acc
	}()
	if _, err := inv.Send(ctx); err != nil {
		fmt.Println(err)
		return
	}
	acc := <-accepted
	if acc == nil {
		return
	}

	// The process's side.
	sup, err := supervisor.Connect(acc)
	if errors.Is(err, supervisor.ErrNotSupervised) {
		fmt.Println("not run by mage-run")
		return
	}
	defer sup.Close()
	instance, pipe, err := sup.Launch(ctx, "worker", []string{"--fast"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pipe.Close()
	fmt.Println(instance, pipe.IsValid())
	// Output:
	// worker#1 true
}
