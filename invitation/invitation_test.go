package invitation_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
)

// roleEnv names what a re-executed test binary does as an invited child.
const roleEnv = "INVITATION_TEST_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(child(role))
	}
	goleak.VerifyTestMain(m)
}

// child accepts its invitation and echoes on pipe "main" until the parent
// closes it. With role "report-error" it prints Accept's error to stdout.
func child(role string) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv, err := acceptFor(ctx, role)
	if role == "report-error" {
		fmt.Print(err)
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "accept:", err)
		return 2
	}
	if v, ok := os.LookupEnv(invitation.EnvVar); ok {
		fmt.Fprintln(os.Stderr, "the variable is still set:", v)
		return 2
	}
	p, ok := inv.Pipe("main")
	if !ok {
		fmt.Fprintln(os.Stderr, "no pipe main")
		return 2
	}
	if play := treeRoles[role]; play != nil {
		err := play(ctx, p)
		if err == nil {
			// Wait for the parent to close, so the report is read.
			_, err = read(ctx, p)
			if errors.Is(err, mage.ErrPeerClosed) {
				err = nil
			}
		}
		_ = mage.DefaultNode().Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, role+":", err)
			return 2
		}
		return 0
	}
	for {
		m, err := p.ReadMessage()
		switch {
		case errors.Is(err, mage.ErrNoMessage):
			select {
			case <-p.Ready():
			case <-ctx.Done():
				return 2
			}
		case errors.Is(err, mage.ErrPeerClosed):
			_ = p.Close()
			_ = mage.DefaultNode().Close()
			return 0
		case err != nil:
			fmt.Fprintln(os.Stderr, "read:", err)
			return 2
		default:
			if err := p.WriteMessage(m); err != nil {
				fmt.Fprintln(os.Stderr, "write:", err)
				return 2
			}
		}
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func childCommand(role string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role, "GORACE=atexit_sleep_ms=0")
	return cmd
}

func readText(t *testing.T, p mage.MessagePipe) string {
	t.Helper()
	ctx := ctxFor(t)
	for {
		m, err := p.ReadMessage()
		if errors.Is(err, mage.ErrNoMessage) {
			select {
			case <-p.Ready():
				continue
			case <-ctx.Done():
				t.Fatal("no message in time")
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(m.Payload)
	}
}

func TestInviteChildOverInheritedSocket(t *testing.T) {
	before := openFDs(t)
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()
	inv := invitation.New(node)
	p, err := inv.Attach("main")
	if err != nil {
		t.Fatal(err)
	}
	// Written before the child exists: it must queue, not be lost.
	if err := p.WriteMessage(&mage.Message{Payload: []byte("early")}); err != nil {
		t.Fatal(err)
	}
	cmd := childCommand("echo")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := inv.PrepareCommand(cmd); err != nil {
		t.Fatal(err)
	}
	err = cmd.Start()
	inv.CloseChildSide()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := inv.Send(ctxFor(t))
	if err != nil {
		t.Fatalf("send: %v (child: %s)", err, stderr.String())
	}
	if got := readText(t, p); got != "early" {
		t.Fatalf("echo %q, want early", got)
	}
	if err := p.WriteMessage(&mage.Message{Payload: []byte("late")}); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, p); got != "late" {
		t.Fatalf("echo %q, want late", got)
	}
	p.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v: %s", err, stderr.String())
	}
	<-conn.Done()
	node.Close()
	if after := openFDs(t); after != before {
		t.Fatalf("%d descriptors open before, %d after", before, after)
	}
}

func TestInviteOverNamedSocket(t *testing.T) {
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()
	inv := invitation.New(node)
	p, err := inv.Attach("main")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := invitation.Listen(inv, "", invitation.ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	// A process with the wrong token is turned away; the right one gets in.
	wrong := childCommand("report-error")
	wrong.Env = append(wrong.Env, invitation.EnvVar+"=socket="+ln.Addr()+";token="+strings.Repeat("ab", invitation.TokenSize))
	var wrongOut strings.Builder
	wrong.Stdout = &wrongOut
	if err := wrong.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := childCommand("echo")
	cmd.Env = append(cmd.Env, ln.Env())
	var stderr strings.Builder
	cmd.Stderr = &stderr

	accepted := make(chan error, 1)
	go func() {
		_, err := ln.Accept(ctxFor(t))
		accepted <- err
	}()
	if err := wrong.Wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(wrongOut.String(), "token") {
		t.Fatalf("wrong-token child was told %q, want a token error", wrongOut.String())
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := <-accepted; err != nil {
		t.Fatalf("accept: %v (child: %s)", err, stderr.String())
	}
	if err := p.WriteMessage(&mage.Message{Payload: []byte("named")}); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, p); got != "named" {
		t.Fatalf("echo %q", got)
	}
	p.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v: %s", err, stderr.String())
	}
}

func TestAcceptWithoutInvitation(t *testing.T) {
	t.Setenv(invitation.EnvVar, "")
	os.Unsetenv(invitation.EnvVar)
	if _, err := invitation.Accept(ctxFor(t)); !errors.Is(err, invitation.ErrNotInvited) {
		t.Fatalf("uninvited Accept: %v, want ErrNotInvited", err)
	}
}

func TestAcceptRejectsBadInvitations(t *testing.T) {
	token := strings.Repeat("01", invitation.TokenSize)
	regular, err := os.CreateTemp(t.TempDir(), "not-a-socket")
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	closedFD := func() int {
		f, err := os.CreateTemp(t.TempDir(), "closed")
		if err != nil {
			t.Fatal(err)
		}
		fd := int(f.Fd())
		f.Close()
		return fd
	}()
	cases := []struct {
		value, want string
	}{
		{"garbage", "not key=value"},
		{"fd=3", "no token"},
		{"fd=1;token=" + token, "descriptor number of 3 or more"},
		{"fd=3;token=xyz", "hex digits"},
		{"fd=3;socket=/x;token=" + token, "both fd and socket"},
		{"token=" + token, "neither fd nor socket"},
		{"fd=3;fd=4;token=" + token, "appears twice"},
		{"color=blue;token=" + token, "unknown field"},
		{fmt.Sprintf("fd=%d;token=%s", closedFD, token), "not open"},
		{fmt.Sprintf("fd=%d;token=%s", regular.Fd(), token), "not a socket"},
		{"socket=@mage-test-nobody-listens;token=" + token, "cannot reach"},
	}
	for _, tc := range cases {
		t.Setenv(invitation.EnvVar, tc.value)
		_, err := invitation.Accept(ctxFor(t))
		if !errors.Is(err, invitation.ErrBadInvitation) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrBadInvitation saying %q", tc.value, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("%s: the error shows the token: %v", tc.value, err)
		}
		if _, still := os.LookupEnv(invitation.EnvVar); still {
			t.Errorf("%s: Accept left %s set", tc.value, invitation.EnvVar)
		}
	}
}

func TestChildExitsBeforeAccepting(t *testing.T) {
	inv := invitation.New(mage.NewNode(mage.NodeOptions{}))
	defer inv.Node().Close()
	if _, err := inv.Attach("main"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("true")
	if err := inv.PrepareCommand(cmd); err != nil {
		t.Fatal(err)
	}
	err := cmd.Start()
	inv.CloseChildSide()
	if err != nil {
		t.Fatal(err)
	}
	_, err = inv.Send(ctxFor(t))
	if !errors.Is(err, invitation.ErrPeerGone) {
		t.Fatalf("send to an exited child: %v, want ErrPeerGone", err)
	}
	_ = cmd.Wait()
}

func TestWrongTokenFailsBothSides(t *testing.T) {
	inv := invitation.New(mage.NewNode(mage.NodeOptions{}))
	defer inv.Node().Close()
	if _, err := inv.Attach("main"); err != nil {
		t.Fatal(err)
	}
	cmd := childCommand("report-error")
	if err := inv.PrepareCommand(cmd); err != nil {
		t.Fatal(err)
	}
	// Tamper with the token the child is given.
	for i, kv := range cmd.Env {
		if strings.HasPrefix(kv, invitation.EnvVar+"=") {
			cmd.Env[i] = kv[:len(kv)-2] + "00"
			if cmd.Env[i] == kv {
				cmd.Env[i] = kv[:len(kv)-2] + "11"
			}
		}
	}
	var out strings.Builder
	cmd.Stdout = &out
	err := cmd.Start()
	inv.CloseChildSide()
	if err != nil {
		t.Fatal(err)
	}
	_, sendErr := inv.Send(ctxFor(t))
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if sendErr == nil {
		t.Fatal("parent accepted a child with the wrong token")
	}
	if !strings.Contains(out.String(), "wrong invitation token") {
		t.Fatalf("child said %q, want a wrong-token error", out.String())
	}
}

func TestAttachValidatesNames(t *testing.T) {
	inv := invitation.New(mage.NewNode(mage.NodeOptions{}))
	defer inv.Node().Close()
	for _, bad := range []string{"", "has space", strings.Repeat("x", 65)} {
		if _, err := inv.Attach(bad); !errors.Is(err, mage.ErrBadAttachment) {
			t.Errorf("Attach(%q): %v, want ErrBadAttachment", bad, err)
		}
	}
	if _, err := inv.Attach("ok"); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Attach("ok"); err == nil {
		t.Fatal("attaching a name twice succeeded")
	}
	inv.Close()
}

// TestAttachPipe sends an existing pipe end as an attachment; its peer
// stays with the caller, with the messages written to it before.
func TestAttachPipe(t *testing.T) {
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()
	inv := invitation.New(node)
	a, b := node.CreatePipe()
	if err := inv.AttachPipe("main", b); err != nil {
		t.Fatal(err)
	}
	if err := inv.AttachPipe("main", b); err == nil {
		t.Fatal("attaching a name twice succeeded")
	}
	if got := inv.Names(); len(got) != 1 || got[0] != "main" {
		t.Fatalf("Names() = %v", got)
	}
	if err := a.WriteMessage(&mage.Message{Payload: []byte("ping")}); err != nil {
		t.Fatal(err)
	}
	cmd := childCommand("echo")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := inv.PrepareCommand(cmd); err != nil {
		t.Fatal(err)
	}
	err := cmd.Start()
	inv.CloseChildSide()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inv.Send(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, a); got != "ping" {
		t.Fatalf("echo %q", got)
	}
	if got := inv.Names(); len(got) != 1 {
		t.Fatalf("Names() after Send = %v", got)
	}
	a.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v: %s", err, stderr.String())
	}
}
