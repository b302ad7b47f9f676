package launcher_test

import (
	"bufio"
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mage-ipc/mage/launcher"
)

// TestNoInvitation starts a program that does not use mage: it gets no
// invitation variable and no socket, Start does not wait for an accept,
// and it is reaped like any child.
func TestNoInvitation(t *testing.T) {
	cmd := exec.Command("sh", "-c", `
		if [ -n "${MAGE_INVITATION+set}" ]; then echo invited; else echo not invited; fi
		if { true >&3; } 2>/dev/null; then echo fd 3; else echo no fd 3; fi
		exit 4`)
	var out bytes.Buffer
	cmd.Stdout = &out
	c, err := launcher.Start(testContext(t), cmd, launcher.Options{NoInvitation: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if c.Connection() != nil {
		t.Error("a child started without an invitation has a connection")
	}
	exit := c.Wait()
	if exit.Code != 4 || exit.Cause != launcher.CauseExited {
		t.Errorf("exit = %v, want exit status 4, cause exited", exit)
	}
	if got, want := strings.TrimSpace(out.String()), "not invited\nno fd 3"; got != want {
		t.Errorf("the child saw %q, want %q", got, want)
	}
}

func TestNoInvitationWithPipes(t *testing.T) {
	_, err := launcher.Start(testContext(t), exec.Command("true"), launcher.Options{NoInvitation: true, Pipes: []string{"x"}})
	if !errors.Is(err, launcher.ErrInvalid) {
		t.Fatalf("Start with NoInvitation and Pipes: %v, want ErrInvalid", err)
	}
}

// TestStopSignal stops a child with the signal Options.StopSignal names.
func TestStopSignal(t *testing.T) {
	cmd := exec.Command("sh", "-c", `trap 'exit 7' HUP; echo ready; while :; do sleep 1 & wait $!; done`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c, err := launcher.Start(testContext(t), cmd, launcher.Options{NoInvitation: true, StopSignal: syscall.SIGHUP})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("read %q, %v; want the ready line", line, err)
	}
	if err := c.Stop(time.Minute); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if exit := c.Wait(); exit.Code != 7 || exit.Cause != launcher.CauseStopped {
		t.Errorf("exit = %v (cause %v), want exit status 7 from the HUP trap, cause stopped", exit, exit.Cause)
	}
}
