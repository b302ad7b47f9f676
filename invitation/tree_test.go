package invitation_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
)

func init() {
	treeRoles["middle"] = middleInviting("")
	treeRoles["leaf1"] = leaf1
	treeRoles["leaf2"] = leaf2
	// The same tree, every invitation passed by value (see value_test.go).
	treeRoles["value-middle"] = middleInviting("value-")
	treeRoles["value-leaf1"] = leaf1
	treeRoles["value-leaf2"] = leaf2
}

// treeRoles are the processes of the three-level tree test: the test is
// the root (the broker), "middle" its child, "leaf1" and "leaf2" middle's
// children. leaf1 makes a pipe and sends one end to leaf2 through middle;
// leaf2 can only answer through an introduction by the root.
var treeRoles = map[string]func(ctx context.Context, up mage.MessagePipe) error{}

func read(ctx context.Context, p mage.MessagePipe) (*mage.Message, error) {
	for {
		m, err := p.ReadMessage()
		if !errors.Is(err, mage.ErrNoMessage) {
			return m, err
		}
		select {
		case <-p.Ready():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func send(p mage.MessagePipe, s string, pipes ...mage.MessagePipe) error {
	return p.WriteMessage(&mage.Message{Payload: []byte(s), Pipes: pipes})
}

// invite starts the test binary in role with a pipe "main". A "value-"
// role gets its invitation by value (prepareByValue), others in EnvVar.
func invite(ctx context.Context, role string) (*exec.Cmd, mage.MessagePipe, error) {
	inv := invitation.New(nil)
	p, err := inv.Attach("main")
	if err != nil {
		return nil, p, err
	}
	cmd := childCommand(role)
	cmd.Stderr = os.Stderr
	prepare := inv.PrepareCommand
	if strings.HasPrefix(role, "value-") {
		prepare = func(cmd *exec.Cmd) error { return prepareByValue(inv, cmd) }
	}
	if err := prepare(cmd); err != nil {
		return nil, p, err
	}
	err = cmd.Start()
	inv.CloseChildSide()
	if err != nil {
		inv.Close()
		return nil, p, err
	}
	if _, err := inv.Send(ctx); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, p, err
	}
	return cmd, p, nil
}

// middleInviting is the middle process of the tree, which invites the
// leaves named role+"leaf1" and role+"leaf2".
func middleInviting(role string) func(ctx context.Context, up mage.MessagePipe) error {
	return func(ctx context.Context, up mage.MessagePipe) error { return middle(ctx, up, role) }
}

func middle(ctx context.Context, up mage.MessagePipe, role string) error {
	c1, p1, err := invite(ctx, role+"leaf1")
	if err != nil {
		return err
	}
	defer c1.Wait()
	c2, p2, err := invite(ctx, role+"leaf2")
	if err != nil {
		return err
	}
	defer c2.Wait()
	m, err := read(ctx, p1)
	if err != nil {
		return fmt.Errorf("from leaf1: %w", err)
	}
	if len(m.Pipes) != 1 {
		return fmt.Errorf("leaf1 sent %d pipes", len(m.Pipes))
	}
	if err := send(p2, "meet leaf1", m.Pipes[0]); err != nil {
		return err
	}
	var reports []string
	for _, p := range []mage.MessagePipe{p1, p2} {
		m, err := read(ctx, p)
		if err != nil {
			return err
		}
		reports = append(reports, string(m.Payload))
	}
	p1.Close()
	p2.Close()
	return send(up, strings.Join(reports, "; "))
}

func leaf1(ctx context.Context, up mage.MessagePipe) error {
	mine, theirs := mage.CreatePipe()
	if err := send(mine, "hello from leaf1"); err != nil {
		return err
	}
	if err := send(up, "here is a pipe", theirs); err != nil {
		return err
	}
	m, err := read(ctx, mine)
	if err != nil {
		return fmt.Errorf("leaf1 waiting for leaf2: %w", err)
	}
	return send(up, "leaf1 got "+string(m.Payload))
}

func leaf2(ctx context.Context, up mage.MessagePipe) error {
	m, err := read(ctx, up)
	if err != nil {
		return err
	}
	p := m.Pipes[0]
	got, err := read(ctx, p)
	if err != nil {
		return err
	}
	// This reply goes to leaf1's node, which leaf2 has no connection to
	// yet: the root introduces them.
	if err := send(p, "hello from leaf2"); err != nil {
		return err
	}
	return send(up, "leaf2 got "+string(got.Payload))
}

func TestThreeLevelTreeWithIntroduction(t *testing.T) {
	testThreeLevelTree(t, "middle", nil)
}

// TestThreeLevelTreeByValue is the same tree with every invitation passed
// by value: the middle process, not the broker, passes each leaf its
// broker socket too (Value.Broker).
func TestThreeLevelTreeByValue(t *testing.T) {
	testThreeLevelTree(t, "value-middle", prepareByValue)
}

func testThreeLevelTree(t *testing.T, role string, prepare func(*invitation.Invitation, *exec.Cmd) error) {
	ctx := ctxFor(t)
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()
	inv := invitation.New(node)
	p, err := inv.Attach("main")
	if err != nil {
		t.Fatal(err)
	}
	cmd := childCommand(role)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if prepare == nil {
		prepare = (*invitation.Invitation).PrepareCommand
	}
	if err := prepare(inv, cmd); err != nil {
		t.Fatal(err)
	}
	err = cmd.Start()
	inv.CloseChildSide()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Send(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := read(ctx, p)
	if err != nil {
		// The child's stderr is complete, and safe to read, once it is
		// waited for.
		p.Close()
		werr := cmd.Wait()
		t.Fatalf("%v (middle: %v; stderr: %s)", err, werr, stderr.String())
	}
	want := "leaf1 got hello from leaf2; leaf2 got hello from leaf1"
	if got := string(m.Payload); got != want {
		t.Fatalf("tree reported %q, want %q", got, want)
	}
	p.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("middle: %v: %s", err, stderr.String())
	}
}
