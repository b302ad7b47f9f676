package invitation_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
)

// A parent invites a child process: the invitation travels through the
// child's environment and an inherited socket, and the child calls
// invitation.Accept in its main. Here the child is this test binary,
// re-executed to play an echoing child (see TestMain); in a program it
// would be exec.Command("./netproc").
func ExampleInvitation_PrepareCommand() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inv := invitation.New(nil)
	p, _ := inv.Attach("main")
	_ = p.WriteMessage(&mage.Message{Payload: []byte("hello, child")})

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"=echo")
	if err := inv.PrepareCommand(cmd); err != nil {
		fmt.Println(err)
		return
	}
	err := cmd.Start()
	inv.CloseChildSide()
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := inv.Send(ctx); err != nil { // returns once the child accepted
		fmt.Println(err)
		return
	}
	m, err := read(ctx, p)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("the child echoed:", string(m.Payload))
	_ = p.Close() // the echoing child exits when its pipe closes
	fmt.Println("child exit:", cmd.Wait())
	// Output:
	// the child echoed: hello, child
	// child exit: <nil>
}

// An invitation accepted from a value rather than the environment: the
// inviter hands the child's socket and token over on a channel of its own
// (here, to a second node of this process; across processes, an
// inherited descriptor of its choosing).
func ExampleAcceptFrom() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	parent := mage.NewNode(mage.NodeOptions{})
	defer parent.Close()
	child := mage.NewNode(mage.NodeOptions{})
	defer child.Close()

	inv := invitation.New(parent)
	p, _ := inv.Attach("main")
	value, err := inv.ChildValue()
	if err != nil {
		fmt.Println(err)
		return
	}
	accepted := make(chan *invitation.Accepted, 1)
	go func() {
		acc, err := invitation.AcceptFrom(ctx, value, invitation.AcceptOptions{Node: child})
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
	q, _ := acc.Pipe("main")
	_ = p.WriteMessage(&mage.Message{Payload: []byte("from the inviting node")})
	m, err := read(ctx, q)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(m.Payload))
	// Output:
	// from the inviting node
}
