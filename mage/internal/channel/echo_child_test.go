package channel

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/mage-ipc/mage/mage/internal/wire"
)

// echoChildEnv makes the test binary run as an echo peer in another process
// (see TestMain); its value is "direct" or "writer-goroutine".
const echoChildEnv = "MAGE_CHANNEL_ECHO_CHILD"

// runEchoChild echoes every frame it reads on fd 3 until the parent closes
// the socket.
func runEchoChild(mode string) int {
	f := os.NewFile(3, "socket")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo child:", err)
		return 1
	}
	var c *Channel
	stopped := make(chan struct{})
	h := echoHandler{echo: func(u wire.User) {
		_ = c.SendFunc(func(buf []byte) []byte { return wire.AppendUser(buf, &u) }, nil)
	}, stopped: stopped}
	c = New(conn.(*net.UnixConn), h, Options{noDirectWrite: mode != "direct"})
	c.Start()
	<-stopped
	c.Close()
	return 0
}

type echoHandler struct {
	echo    func(wire.User)
	stopped chan struct{}
}

func (h echoHandler) HandleFrame(f *wire.Frame, _ []int) { h.echo(f.User) }
func (h echoHandler) HandleError(error)                  { close(h.stopped) }

// BenchmarkPingPongProcess is BenchmarkPingPong with the echoing side in a
// child process, as between real nodes: each process has its own scheduler,
// so waking a writer goroutine may mean waking an idle thread.
func BenchmarkPingPongProcess(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts Options
	}{{"direct", Options{}}, {"writer-goroutine", Options{noDirectWrite: true}}} {
		b.Run(mode.name, func(b *testing.B) {
			ours, theirs := socketPair(b)
			tf, err := theirs.File()
			theirs.Close()
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), echoChildEnv+"="+mode.name)
			cmd.ExtraFiles = []*os.File{tf}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			tf.Close()
			pong := make(chan struct{}, 1)
			a := New(ours, funcHandler{func(*wire.Frame, []int) { pong <- struct{}{} }}, mode.opts)
			a.Start()
			u := &wire.User{Target: port(1), Sender: port(0x7e), Payload: make([]byte, 64)}
			b.ReportAllocs()
			for b.Loop() {
				u.Seq++
				if err := a.SendFunc(func(buf []byte) []byte { return wire.AppendUser(buf, u) }, nil); err != nil {
					b.Fatal(err)
				}
				<-pong
			}
			b.StopTimer()
			a.Close()
			if err := cmd.Wait(); err != nil {
				b.Errorf("echo child: %v", err)
			}
		})
	}
}
