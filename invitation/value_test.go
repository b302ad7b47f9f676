package invitation_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/mage-ipc/mage/internal/sockets"
	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
)

// valueEnv carries an invitation value to a child of the value tests, in
// a format of the tests' own ("fd=N;token=HEX"): the point is that the
// invitation does not travel in invitation.EnvVar.
const valueEnv = "INVITATION_TEST_VALUE"

// acceptFor accepts the child's invitation: from valueEnv for the "value-"
// roles, else from the environment as a child normally does.
func acceptFor(ctx context.Context, role string) (*invitation.Accepted, error) {
	if !strings.HasPrefix(role, "value-") {
		return invitation.Accept(ctx)
	}
	var v invitation.Value
	for _, field := range strings.Split(os.Getenv(valueEnv), ";") {
		key, val, _ := strings.Cut(field, "=")
		var err error
		var fd int
		switch key {
		case "fd", "broker":
			if fd, err = strconv.Atoi(val); err == nil && key == "fd" {
				v.File = os.NewFile(uintptr(fd), "invitation")
			} else if err == nil {
				v.Broker = os.NewFile(uintptr(fd), "broker")
			}
		case "token":
			v.Token, err = hex.DecodeString(val)
		}
		if err != nil {
			return nil, fmt.Errorf("bad %s: %w", valueEnv, err)
		}
	}
	// Our own children get their invitations from us, not this variable.
	_ = os.Unsetenv(valueEnv)
	return invitation.AcceptFrom(ctx, v, invitation.AcceptOptions{})
}

// prepareByValue sets cmd up to receive inv by value: the sockets of
// inv.ChildValue at descriptors 4 and 5 (3 is a copy of stderr, filler, so
// that the numbers are the test's choice, not the first free one),
// described in valueEnv.
func prepareByValue(inv *invitation.Invitation, cmd *exec.Cmd) error {
	v, err := inv.ChildValue()
	if err != nil {
		return err
	}
	desc := "fd=4;token=" + hex.EncodeToString(v.Token)
	cmd.ExtraFiles = []*os.File{os.Stderr, v.File}
	if v.Broker != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, v.Broker)
		desc += ";broker=5"
	}
	cmd.Env = append(cmd.Env, valueEnv+"="+desc)
	return nil
}

// TestAcceptFromAcrossProcesses invites a child by value: the parent passes
// the child's socket at a descriptor of its choosing (not the first extra
// one) and the token in a variable of its own, and the child accepts with
// AcceptFrom. The pipes work both ways, and no descriptor is left behind.
func TestAcceptFromAcrossProcesses(t *testing.T) {
	before := openFDs(t)
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()
	inv := invitation.New(node)
	p, err := inv.Attach("main")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteMessage(&mage.Message{Payload: []byte("early")}); err != nil {
		t.Fatal(err)
	}
	v, err := inv.ChildValue()
	if err != nil {
		t.Fatal(err)
	}
	if v.File == nil || len(v.Token) != invitation.TokenSize || v.Broker != nil {
		t.Fatalf("ChildValue() = %+v; want a socket, a %d-byte token and no broker socket (this node is the root)", v, invitation.TokenSize)
	}
	if _, err := inv.ChildValue(); !errors.Is(err, invitation.ErrAlreadySent) {
		t.Fatalf("a second ChildValue: %v, want ErrAlreadySent", err)
	}
	filler, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer filler.Close()
	cmd := childCommand("value-echo")
	// Descriptors 3 and 4 are filler; the invitation is at 5.
	cmd.ExtraFiles = []*os.File{filler, filler, v.File}
	cmd.Env = append(cmd.Env, valueEnv+"=fd=5;token="+hex.EncodeToString(v.Token))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Start()
	inv.CloseChildSide()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := inv.Send(ctxFor(t))
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("send: %v (child: %s)", err, stderr.String())
	}
	for _, want := range []string{"early", "late"} {
		if want == "late" {
			if err := p.WriteMessage(&mage.Message{Payload: []byte(want)}); err != nil {
				t.Fatal(err)
			}
		}
		if got := readText(t, p); got != want {
			t.Fatalf("echo %q, want %q", got, want)
		}
	}
	p.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v: %s", err, stderr.String())
	}
	<-conn.Done()
	node.Close()
	filler.Close()
	if after := openFDs(t); after != before {
		t.Fatalf("%d descriptors open before, %d after", before, after)
	}
}

// TestAcceptFromInOneProcess invites one node of this process from
// another, by value, leaving the environment alone.
func TestAcceptFromInOneProcess(t *testing.T) {
	t.Setenv(invitation.EnvVar, "not for AcceptFrom")
	ctx := ctxFor(t)
	parent := mage.NewNode(mage.NodeOptions{})
	defer parent.Close()
	childNode := mage.NewNode(mage.NodeOptions{})
	defer childNode.Close()

	inv := invitation.New(parent)
	p, err := inv.Attach("main")
	if err != nil {
		t.Fatal(err)
	}
	v, err := inv.ChildValue()
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		acc *invitation.Accepted
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		acc, err := invitation.AcceptFrom(ctx, v, invitation.AcceptOptions{Node: childNode})
		accepted <- result{acc, err}
	}()
	if _, err := inv.Send(ctx); err != nil {
		t.Fatalf("send: %v", err)
	}
	res := <-accepted
	if res.err != nil {
		t.Fatalf("AcceptFrom: %v", res.err)
	}
	q, ok := res.acc.Pipe("main")
	if !ok || q.Node() != childNode {
		t.Fatalf("the accepted side has no pipe main of its node: %v", res.acc.Pipes())
	}
	if err := p.WriteMessage(&mage.Message{Payload: []byte("across nodes")}); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, q); got != "across nodes" {
		t.Fatalf("read %q", got)
	}
	if got := os.Getenv(invitation.EnvVar); got != "not for AcceptFrom" {
		t.Fatalf("AcceptFrom changed %s to %q", invitation.EnvVar, got)
	}
}

// TestAcceptFromRejectsBadValues: a value that cannot be an invitation is
// refused with a *BadValueError saying why, and its files are closed.
func TestAcceptFromRejectsBadValues(t *testing.T) {
	ctx := ctxFor(t)
	token := make([]byte, invitation.TokenSize)
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()
	notSocket := func() *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		return r
	}
	socket := func() *os.File {
		a, b, err := sockets.Pair()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return b
	}
	for _, tt := range []struct {
		name  string
		value invitation.Value
		want  string
	}{
		{"no file", invitation.Value{Token: token}, "no socket"},
		{"short token", invitation.Value{File: socket(), Token: token[:5]}, "the token is 5 bytes"},
		{"not a socket", invitation.Value{File: notSocket(), Token: token}, "not a socket"},
		{"broker not a socket", invitation.Value{File: socket(), Token: token, Broker: notSocket()}, "broker socket"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := []*os.File{tt.value.File, tt.value.Broker}
			_, err := invitation.AcceptFrom(ctx, tt.value, invitation.AcceptOptions{Node: node})
			var bad *invitation.BadValueError
			if !errors.Is(err, invitation.ErrBadInvitation) || !errors.As(err, &bad) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("AcceptFrom = %v, want a *BadValueError saying %q", err, tt.want)
			}
			for _, f := range files {
				if f != nil && f.Close() == nil {
					t.Errorf("AcceptFrom left %s open", f.Name())
				}
			}
		})
	}
}

// TestAcceptFromWrongToken: a value with another token fails the handshake
// on both sides.
func TestAcceptFromWrongToken(t *testing.T) {
	ctx := ctxFor(t)
	parent := mage.NewNode(mage.NodeOptions{})
	defer parent.Close()
	childNode := mage.NewNode(mage.NodeOptions{})
	defer childNode.Close()
	inv := invitation.New(parent)
	if _, err := inv.Attach("main"); err != nil {
		t.Fatal(err)
	}
	v, err := inv.ChildValue()
	if err != nil {
		t.Fatal(err)
	}
	v.Token = make([]byte, invitation.TokenSize) // not the invitation's
	accepted := make(chan error, 1)
	go func() {
		_, err := invitation.AcceptFrom(ctx, v, invitation.AcceptOptions{Node: childNode})
		accepted <- err
	}()
	_, sendErr := inv.Send(ctx)
	acceptErr := <-accepted
	if sendErr == nil || acceptErr == nil {
		t.Fatalf("a wrong token was accepted: Send %v, AcceptFrom %v", sendErr, acceptErr)
	}
}

// TestAttachPipeRefusesBoundEnd: an end a Receiver is bound to cannot be
// attached to an invitation, and the Receiver keeps serving.
func TestAttachPipeRefusesBoundEnd(t *testing.T) {
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()
	desc := &bindings.InterfaceDescriptor{Name: "test.Ping", Fingerprint: 0x70696e67, Methods: []bindings.MethodDescriptor{{Ordinal: 1, Name: "Ping"}}}
	pings := make(chan struct{}, 1)
	a, b := node.CreatePipe()
	rcv := bindings.NewReceiver(b, desc, func(_ context.Context, _ uint32, d *bindings.Decoder) (*bindings.Encoder, error) {
		if err := d.Finish(); err != nil {
			return nil, err
		}
		pings <- struct{}{}
		return nil, nil
	})
	defer rcv.Close()
	remote := bindings.NewRemote(a, desc)
	defer remote.Close()

	inv := invitation.New(node)
	defer inv.Close()
	for name, end := range map[string]mage.MessagePipe{"receiver": b, "remote": a} {
		err := inv.AttachPipe(name, end)
		if !errors.Is(err, mage.ErrPipeBound) || !errors.Is(err, mage.ErrBadAttachment) {
			t.Fatalf("AttachPipe of the %s's end: %v, want mage.ErrPipeBound", name, err)
		}
	}
	if got := inv.Names(); len(got) != 0 {
		t.Fatalf("refused ends were attached: %v", got)
	}
	if err := remote.Send(1, bindings.NewEncoder(0)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pings:
	case <-ctxFor(t).Done():
		t.Fatal("the receiver stopped serving after the refusal")
	}
	if rcv.Err() != nil {
		t.Fatalf("receiver: %v", rcv.Err())
	}
}
