package supervisor

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
	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
)

// envChild makes this test binary the invited child of the tests.
const envChild = "SUPERVISOR_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		os.Exit(child())
	}
	if err := os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")); err != nil {
		panic(err)
	}
	goleak.VerifyTestMain(m)
}

// child accepts its invitation and tries Connect: status 0 when it got a
// Remote, 3 when it was told it is not supervised, 1 otherwise.
func child() int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	acc, err := invitation.Accept(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer mage.DefaultNode().Close()
	sup, err := Connect(acc)
	switch {
	case errors.Is(err, ErrNotSupervised):
		return 3
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = sup.Close()
	return 0
}

func runChild(t *testing.T, pipes ...string) launcher.Exit {
	t.Helper()
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envChild+"=1")
	c, err := launcher.Start(context.Background(), cmd, launcher.Options{Node: node, Pipes: pipes})
	if err != nil {
		t.Fatal(err)
	}
	return c.Wait()
}

func TestConnect(t *testing.T) {
	if e := runChild(t, Attachment); !e.Success() {
		t.Errorf("a child invited with %q: %v", Attachment, e)
	}
}

func TestConnectNotSupervised(t *testing.T) {
	if e := runChild(t, "other"); e.Code != 3 {
		t.Errorf("a child invited without %q: %v, want exit status 3 (ErrNotSupervised)", Attachment, e)
	}
}
