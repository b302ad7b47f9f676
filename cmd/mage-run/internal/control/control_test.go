package control

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"

	"github.com/mage-ipc/mage/mage"
)

// envDial makes this test binary a control client: it dials the socket
// the variable names, with the token in envToken, and reports how that
// went on stdout.
const (
	envDial  = "MAGE_RUN_CONTROL_TEST_DIAL"
	envToken = "MAGE_RUN_CONTROL_TEST_TOKEN"
)

func TestMain(m *testing.M) {
	if path, ok := os.LookupEnv(envDial); ok {
		os.Exit(dialChild(path))
	}
	goleak.VerifyTestMain(m)
}

func dialChild(path string) int {
	token, err := hex.DecodeString(os.Getenv(envToken))
	if err != nil {
		fmt.Println("bad token:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, Address{Socket: path}, token)
	if err != nil {
		fmt.Println("refused:", err)
		return 1
	}
	defer c.Close()
	if _, _, _, _, _, _, _, _, _, _, err := c.Status(ctx); err != nil {
		fmt.Println("status failed:", err)
		return 1
	}
	fmt.Println("served")
	return 0
}

// fakeControl answers Status with nothing.
type fakeControl struct{}

func (fakeControl) Status(context.Context) ([]string, []int32, []string, []int32, []int32, []int64, []string, []float64, []int64, []string, error) {
	return nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
}
func (fakeControl) Restart(context.Context, string) error              { return nil }
func (fakeControl) Stop(context.Context, string) error                 { return nil }
func (fakeControl) Start(context.Context, string) error                { return nil }
func (fakeControl) Scale(context.Context, string, int32) error         { return nil }
func (fakeControl) Events(_ context.Context, p mage.MessagePipe) error { return p.Close() }
func (fakeControl) Follow(_ context.Context, _ string, _ int32, _ bool, p mage.MessagePipe) error {
	return p.Close()
}

// lockedBuffer is a bytes.Buffer safe for the logger.
type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveOpen serves fakeControl on a socket in a directory anyone may
// enter, so that only the server's own checks stand between a client
// and it.
func serveOpen(t *testing.T) (*Server, []byte, *lockedBuffer) {
	t.Helper()
	dir, err := os.MkdirTemp("", "mrc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	addr, err := AddressAt(filepath.Join(dir, "c.sock"))
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	node := mage.NewNode(mage.NodeOptions{})
	t.Cleanup(func() { node.Close() })
	srv, err := Serve(node, addr, fakeControl{}, hclog.New(&hclog.LoggerOptions{Output: &logs}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if err := os.Chmod(addr.Socket, 0o777); err != nil {
		t.Fatal(err)
	}
	token, err := ReadToken(addr.Token)
	if err != nil {
		t.Fatal(err)
	}
	return srv, token, &logs
}

func dialCmd(srv *Server, token []byte) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envDial+"="+srv.Addr().Socket, envToken+"="+hex.EncodeToString(token), "GORACE=atexit_sleep_ms=0")
	return cmd
}

// TestServesOwnUser: a client of this user with the token is served.
func TestServesOwnUser(t *testing.T) {
	srv, token, _ := serveOpen(t)
	out, err := dialCmd(srv, token).Output()
	if err != nil || strings.TrimSpace(string(out)) != "served" {
		t.Fatalf("client: %v: %s", err, out)
	}
}

// TestRefusesWrongToken: a client of this user without the token is not.
func TestRefusesWrongToken(t *testing.T) {
	srv, token, _ := serveOpen(t)
	wrong := bytes.Clone(token)
	wrong[0] ^= 1
	out, err := dialCmd(srv, wrong).Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.HasPrefix(string(out), "refused:") {
		t.Fatalf("client with a wrong token: %v: %s", err, out)
	}
}

// TestRefusesOtherUser runs the client as another user (which needs
// root): the server refuses it by its peer credentials, before any
// handshake, even with the right token.
func TestRefusesOtherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	srv, token, logs := serveOpen(t)
	// The test binary's own directory is closed to other users.
	exe := filepath.Join(filepath.Dir(srv.Addr().Socket), "client.test")
	if err := copyFile(os.Args[0], exe); err != nil {
		t.Fatal(err)
	}
	cmd := dialCmd(srv, token)
	cmd.Path, cmd.Args[0] = exe, exe
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.HasPrefix(string(out), "refused:") {
		t.Fatalf("client as uid 65534: %v: %s", err, out)
	}
	// The refusal is logged before the connection is closed, and the
	// client has seen the close.
	if want := "peer uid 65534 is not this tree's uid 0"; !strings.Contains(logs.String(), want) {
		t.Fatalf("server log lacks %q:\n%s", want, logs.String())
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}
