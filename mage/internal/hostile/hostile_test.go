package hostile_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/internal/channel"
	"github.com/mage-ipc/mage/mage/internal/hostile"
	"github.com/mage-ipc/mage/mage/internal/ports"
	"github.com/mage-ipc/mage/mage/internal/wire"
)

// heapBound is how far above its baseline the parent's heap (after GC)
// may be during an attack: the queues an attacker can fill are bounded by
// testLimits well below it. heapAfterBound is the same once the attacker
// is gone: nothing of it may be left.
const (
	heapBound      = 16 << 20
	heapAfterBound = 1 << 20
)

// testLimits are the parent's limits: the defaults, but with a frame
// timeout and a queue bound small enough to reach quickly.
var testLimits = mage.Limits{
	FrameTimeout:   200 * time.Millisecond,
	MaxQueuedBytes: 1 << 20,
}

// outcome is what a mode's test saw of the attacker's end.
type outcome struct {
	// startErr is Start's error, when the attacker was refused at once.
	startErr error
	// exit is how the attacker ended.
	exit launcher.Exit
}

// harness is a parent node with a healthy child, against which one
// attacker is started.
type harness struct {
	t       *testing.T
	ctx     context.Context
	node    *mage.Node
	healthy *launcher.Child
	pipe    mage.MessagePipe
	// next is the number of the next message sent to the healthy child.
	next int

	baseFDs, basePorts int
	baseHeap           uint64
	leaks              goleak.Option
	// afterBound is heapAfterBound, unless a test knows of a check that
	// is missing in this branch.
	afterBound uint64
}

func newHarness(t *testing.T) *harness {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	h := &harness{t: t, ctx: ctx, node: mage.NewNode(mage.NodeOptions{Limits: testLimits}), afterBound: heapAfterBound}
	t.Cleanup(func() { h.node.Close() })
	cmd := selfCommand(healthyEnv + "=1")
	c, err := launcher.Start(ctx, cmd, launcher.Options{Node: h.node, Name: "healthy", Pipes: []string{"main"}, CaptureStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	h.healthy = c
	t.Cleanup(func() {
		if err := c.Stop(10 * time.Second); err != nil {
			t.Errorf("stopping the healthy child: %v", err)
		}
		if exit := c.Wait(); exit.Cause != launcher.CauseStopped {
			t.Errorf("healthy child: %v, want stopped by the test", exit)
		}
	})
	h.pipe, _ = c.Pipe("main")
	h.roundTrips(20)
	h.baseline()
	return h
}

func selfCommand(env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), "GORACE=atexit_sleep_ms=0")
	return cmd
}

// baseline records what the parent holds before the attack.
func (h *harness) baseline() {
	h.leaks = goleak.IgnoreCurrent()
	h.baseFDs = openFDs(h.t)
	h.basePorts = h.node.PortCount()
	h.baseHeap = heap()
	h.t.Logf("baseline: heap %d KiB, %d descriptors, %d ports, %d goroutines", h.baseHeap>>10, h.baseFDs, h.basePorts, runtime.NumGoroutine())
}

// roundTrips sends n numbered messages to the healthy child and checks
// that each comes back, in order.
func (h *harness) roundTrips(n int) {
	h.t.Helper()
	first := h.next
	for i := 0; i < n; i++ {
		if err := h.pipe.WriteMessage(&mage.Message{Payload: []byte(strconv.Itoa(h.next))}); err != nil {
			h.t.Fatalf("writing to the healthy child: %v", err)
		}
		h.next++
	}
	for want := first; want < h.next; want++ {
		m := h.read(h.pipe)
		if got := string(m.Payload); got != strconv.Itoa(want) {
			h.t.Fatalf("healthy child echoed %q, want %d", got, want)
		}
	}
}

// read waits for the next message on p.
func (h *harness) read(p mage.MessagePipe) *mage.Message {
	h.t.Helper()
	for {
		m, err := p.ReadMessage()
		if err == nil {
			return m
		}
		if !errors.Is(err, mage.ErrNoMessage) {
			h.t.Fatalf("reading %v: %v", p, err)
		}
		select {
		case <-p.Ready():
		case <-h.ctx.Done():
			h.t.Fatalf("reading %v: %v", p, h.ctx.Err())
		}
	}
}

// attack starts the hostile child in mode, with the pipes "main" and
// "extra". The child is nil when Start refused it; out.startErr says why.
func (h *harness) attack(mode string) (*launcher.Child, outcome) {
	cmd := selfCommand(hostile.EnvMode + "=" + mode)
	c, err := launcher.Start(h.ctx, cmd, launcher.Options{Node: h.node, Name: "hostile", Pipes: []string{"main", "extra"}, CaptureStderr: true})
	if err != nil {
		var se *launcher.StartError
		if !errors.As(err, &se) || se.Exit == nil {
			h.t.Fatalf("start of the attacker failed without an exit: %v", err)
		}
		return nil, outcome{startErr: err, exit: *se.Exit}
	}
	h.t.Cleanup(func() { _ = c.Kill(); c.Wait() })
	return c, outcome{}
}

// mustAttack is attack for a mode the parent cannot refuse at the start:
// the test fails if it does.
func (h *harness) mustAttack(mode string) *launcher.Child {
	h.t.Helper()
	c, out := h.attack(mode)
	if c == nil {
		h.t.Fatalf("the attacker was refused before it could attack: %v", out.startErr)
	}
	return c
}

// finish waits for the attacker to be gone, closes the parent's ends of its
// pipes, and checks that the parent holds no more than at the baseline and
// that the healthy child was served throughout.
func (h *harness) finish(c *launcher.Child, extra ...mage.MessagePipe) {
	h.t.Helper()
	h.roundTrips(200)
	h.checkHeap("during the attack", heapBound)
	if c != nil {
		c.Wait()
		for _, name := range []string{"main", "extra"} {
			if p, ok := c.Pipe(name); ok {
				_ = p.Close()
			}
		}
	}
	for _, p := range extra {
		_ = p.Close()
	}
	h.roundTrips(200)
	goleak.VerifyNone(h.t, h.leaks)
	// More than before is a leak. Fewer is not: the baseline may count a
	// descriptor an earlier test was still closing.
	if n := openFDs(h.t); n > h.baseFDs {
		h.t.Errorf("%d descriptors open after the attack, %d before", n, h.baseFDs)
	}
	if n := h.node.PortCount(); n != h.basePorts {
		h.t.Errorf("%d ports after the attack, %d before", n, h.basePorts)
	}
	h.checkHeap("after the attack", h.afterBound)
}

func (h *harness) checkHeap(when string, bound uint64) {
	h.t.Helper()
	now := heap()
	h.t.Logf("heap %s: %d KiB (baseline %d KiB, bound +%d KiB)", when, now>>10, h.baseHeap>>10, bound>>10)
	if now > h.baseHeap+bound {
		h.t.Errorf("heap %s is %d KiB, more than %d KiB above the baseline of %d KiB", when, now>>10, bound>>10, h.baseHeap>>10)
	}
}

func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd to count descriptors: %v", err)
	}
	return len(ents)
}

// expectKilledFor checks that the attacker was killed for a bad message
// matching want; any bad message when want is nil (the check belongs to
// another part of the runtime, whose sentinel this test does not assume).
func expectKilledFor(t *testing.T, exit launcher.Exit, want error) {
	t.Helper()
	t.Logf("attacker: %v", exit.Reason)
	if exit.Cause != launcher.CauseBadMessage || exit.Err == nil || want != nil && !errors.Is(exit.Err, want) {
		t.Fatalf("attacker ended with %v (%v), want killed for a bad message matching %v", exit.Cause, exit.Err, want)
	}
}

// TestAttacksCutAndCharged runs each attack that this node's own checks
// refuse, and checks the parent throughout.
func TestAttacksCutAndCharged(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want error
	}{
		{hostile.ModeMalformed, wire.ErrReserved},
		{hostile.ModeOversizeFirst, wire.ErrTooLarge},
		{hostile.ModeStall, channel.ErrFrameTimeout},
		{hostile.ModeLargeStall, channel.ErrFrameTimeout},
		{hostile.ModeLargeBadLength, wire.ErrBadLength},
		{hostile.ModeLargeOverLimit, wire.ErrTooLarge},
		{hostile.ModeCountersFlood, mage.ErrSlowReader},
		{hostile.ModeFDCount, channel.ErrMissingHandles},
		{hostile.ModeFDFlood, channel.ErrTooManyHandles},
		{hostile.ModeSameWrite, wire.ErrBadMagic},
		{hostile.ModeBadProof, mage.ErrNameProof},
		{hostile.ModeNoProof, mage.ErrNameProof},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			h := newHarness(t)
			c, out := h.attack(tc.mode)
			if c != nil {
				out.exit = c.Wait()
			}
			expectKilledFor(t, out.exit, tc.want)
			h.finish(c)
		})
	}
}

// TestAttackOtherVersion: a child speaking the next protocol version is
// refused by Start with a *mage.VersionError naming both versions.
func TestAttackOtherVersion(t *testing.T) {
	h := newHarness(t)
	c, out := h.attack(hostile.ModeVersion)
	if c != nil {
		t.Fatal("a child of another protocol version was accepted")
	}
	var ve *mage.VersionError
	if !errors.As(out.startErr, &ve) || ve.Local != mage.ProtocolVersion || ve.Remote != mage.ProtocolVersion+1 {
		t.Fatalf("Start: %v, want a *mage.VersionError of %d and %d", out.startErr, mage.ProtocolVersion, mage.ProtocolVersion+1)
	}
	t.Logf("attacker refused: %v", out.startErr)
	h.finish(nil)
}

// TestAttackNoRead: toward a child that never reads, WriteMessage fails
// with ErrPeerBackedUp once the bound is queued, instead of growing the
// parent without limit, and the healthy child is served all along.
func TestAttackNoRead(t *testing.T) {
	h := newHarness(t)
	c := h.mustAttack(hostile.ModeNoRead)
	p, _ := c.Pipe("main")
	payload := make([]byte, 32<<10)
	var err error
	written := 0
	for ; written < 10000 && err == nil; written++ {
		err = p.WriteMessage(&mage.Message{Payload: payload})
	}
	if !errors.Is(err, mage.ErrPeerBackedUp) {
		t.Fatalf("after %d messages to a child that does not read: %v, want ErrPeerBackedUp", written, err)
	}
	t.Logf("refused after %d messages of %d KiB: %v", written, len(payload)>>10, err)
	h.roundTrips(100)
	h.checkHeap("with the queue full", heapBound)
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if exit := c.Wait(); exit.Cause != launcher.CauseKilled {
		t.Fatalf("attacker: %v, want killed by the test", exit)
	}
	h.finish(c)
}

// The attacks below are refused by checks of the ports layer and of the
// broker, which other parts of the runtime own. Each flood ends with a
// well-formed message on "main": if the parent lets the flood pass, that
// message arrives, the check is missing, and the test says so, with what
// the flood made the parent hold while the attacker was still connected.

func TestAttackSeqAhead(t *testing.T) {
	testFlood(t, hostile.ModeSeqAhead, "ports: no reordering window: sequence numbers far ahead are queued")
}

func TestAttackPeerMovedFlood(t *testing.T) {
	testFlood(t, hostile.ModePeerMovedFlood, "ports: PeerMoved from a node that is not the port's peer is not refused")
}

func TestAttackIntroFlood(t *testing.T) {
	testFlood(t, hostile.ModeIntroFlood, "broker: introduction requests for unknown nodes are neither bounded nor refused")
}

func testFlood(t *testing.T, mode, missing string) {
	h := newHarness(t)
	c := h.mustAttack(mode)
	mainEnd, _ := c.Pipe("main")
	select {
	case <-c.Done():
	case <-mainEnd.Ready():
		if m, err := mainEnd.ReadMessage(); err == nil && string(m.Payload) == hostile.FloodDone {
			held := heap()
			t.Logf("heap with the flood let through: %d KiB (baseline %d KiB, bound +%d KiB)", held>>10, h.baseHeap>>10, heapBound>>10)
			h.roundTrips(100)
			_ = c.Kill()
			c.Wait()
			// Without the check, what the flood left may outlive the
			// attacker; that is part of what is missing.
			h.afterBound = heapBound
			h.finish(c)
			t.Fatalf("check missing: %s (the parent held %d KiB over its baseline while connected)", missing, (held-min(held, h.baseHeap))>>10)
		}
		<-c.Done()
	}
	expectKilledFor(t, c.Wait(), nil)
	h.finish(c)
}

// TestAttackForge: the child hands the "extra" end back to the parent and
// then sends a user message and a closure to the parent's end of "extra",
// which it may no longer address. They must be refused and charged to the
// child; the pipe, now wholly inside the parent, keeps working.
func TestAttackForge(t *testing.T) {
	h := newHarness(t)
	c := h.mustAttack(hostile.ModeForge)
	mainEnd, _ := c.Pipe("main")
	extraEnd, _ := c.Pipe("extra")
	m := h.read(mainEnd)
	if len(m.Pipes) != 1 {
		t.Fatalf("the attacker's message carries %d pipes, want the end of extra", len(m.Pipes))
	}
	returned := m.Pipes[0]
	select {
	case <-extraEnd.Ready():
		m, err := extraEnd.ReadMessage()
		if err == nil && string(m.Payload) == hostile.ForgedPayload || errors.Is(err, mage.ErrPeerClosed) {
			_ = c.Kill()
			c.Wait()
			h.finish(c, returned)
			got := "closure"
			if err == nil {
				got = "message " + strconv.Quote(string(m.Payload))
			}
			t.Fatalf("check missing: ports: per-port authority: a forged %s reached the parent's end of the pipe the child gave away", got)
		}
		// A wake-up for nothing: the attacker's end must still come.
		<-c.Done()
	case <-c.Done():
	}
	expectKilledFor(t, c.Wait(), nil)
	// Nothing forged arrived, and the pipe, now inside the parent, works
	// both ways.
	if m, err := extraEnd.ReadMessage(); !errors.Is(err, mage.ErrNoMessage) {
		t.Fatalf("the parent's end of extra holds %v, %v after the forgery, want nothing", m, err)
	}
	for _, dir := range [][2]mage.MessagePipe{{extraEnd, returned}, {returned, extraEnd}} {
		if err := dir[0].WriteMessage(&mage.Message{Payload: []byte("still ours")}); err != nil {
			t.Fatal(err)
		}
		if m := h.read(dir[1]); string(m.Payload) != "still ours" {
			t.Fatalf("read %q through the pipe, want %q", m.Payload, "still ours")
		}
	}
	h.finish(c, returned)
}

// TestAttackLaunderThroughADescriptor: the attacker hands a pipe's end back
// honestly, the parent passes it on to the healthy child, and the attacker
// then sends the parent a made-up descriptor whose peer is the parent's
// end of that pipe. The port the parent adopts from it is the parent's to
// write to and close, but none of it reaches the pipe's end: the pipe to
// the healthy child keeps working, in order, and once the attacker is gone
// nothing of the forgery is left.
func TestAttackLaunderThroughADescriptor(t *testing.T) {
	h := newHarness(t)
	c := h.mustAttack(hostile.ModeLaunder)
	mainEnd, _ := c.Pipe("main")
	extraEnd, _ := c.Pipe("extra")
	m := h.read(mainEnd)
	if len(m.Pipes) != 1 {
		t.Fatalf("the attacker's message carries %d pipes, want the end of extra", len(m.Pipes))
	}
	if m := h.read(mainEnd); string(m.Payload) != hostile.HandedBack {
		t.Fatalf("the attacker's second message: %q, want %q", m.Payload, hostile.HandedBack)
	}
	// Pass the returned end on to the healthy child, which serves it.
	if err := h.pipe.WriteMessage(&mage.Message{Payload: []byte("serve this"), Pipes: m.Pipes}); err != nil {
		t.Fatal(err)
	}
	if m := h.read(h.pipe); string(m.Payload) != "serve this" {
		t.Fatalf("healthy child echoed %q", m.Payload)
	}
	roundTrip := func(payload string) {
		t.Helper()
		if err := extraEnd.WriteMessage(&mage.Message{Payload: []byte(payload)}); err != nil {
			t.Fatalf("writing to the healthy child through extra: %v", err)
		}
		if m := h.read(extraEnd); string(m.Payload) != payload {
			t.Fatalf("read %q through extra, want %q", m.Payload, payload)
		}
	}
	roundTrip("served by the healthy child")
	if err := mainEnd.WriteMessage(&mage.Message{Payload: []byte("go")}); err != nil {
		t.Fatal(err)
	}
	m = h.read(mainEnd)
	if string(m.Payload) != hostile.ForgedPayload || len(m.Pipes) != 1 {
		t.Fatalf("the attacker's third message: %q with %d pipes", m.Payload, len(m.Pipes))
	}
	// The application uses the end it was given, as any would.
	laundered := m.Pipes[0]
	if err := laundered.WriteMessage(&mage.Message{Payload: []byte("laundered")}); err != nil {
		t.Fatal(err)
	}
	_ = laundered.Close()
	roundTrip("after the forgery")
	_ = c.Kill()
	c.Wait()
	roundTrip("after the attacker")
	_ = extraEnd.Close()
	h.finish(c)
}

// TestAttackLaunderThroughAThirdNode: the parent passes the attacker a
// pipe's end whose peer is served by the healthy child, and the attacker
// sends back a made-up descriptor with the same peer. The parent's
// application writes more on the port it adopted from it than the healthy
// child holds for any one node. The healthy child refuses that port, not
// the parent, which only relayed what it could not check: the parent stays
// connected to it, its pipes to it keep delivering in order, and nothing
// of the laundered port reaches the healthy child's end.
func TestAttackLaunderThroughAThirdNode(t *testing.T) {
	h := newHarness(t)
	c := h.mustAttack(hostile.ModeLaunderThird)
	mainEnd, _ := c.Pipe("main")
	// A pipe served by the healthy child: its end there echoes.
	served, away := h.node.CreatePipe()
	if err := h.pipe.WriteMessage(&mage.Message{Payload: []byte("serve this"), Pipes: []mage.MessagePipe{away}}); err != nil {
		t.Fatal(err)
	}
	if m := h.read(h.pipe); string(m.Payload) != "serve this" {
		t.Fatalf("healthy child echoed %q", m.Payload)
	}
	// Until the route collapses, the end's peer is a proxy on the parent:
	// round trips until the proxy is gone.
	for i := 0; h.node.PortCount() > h.basePorts+3; i++ { // the attacker's two ends, served
		payload := "settle " + strconv.Itoa(i)
		if err := served.WriteMessage(&mage.Message{Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
		if m := h.read(served); string(m.Payload) != payload {
			t.Fatalf("read %q on the served pipe, want %q", m.Payload, payload)
		}
	}
	// The attacker gets the end: its peer is the healthy child's port.
	if err := mainEnd.WriteMessage(&mage.Message{Payload: []byte("take this"), Pipes: []mage.MessagePipe{served}}); err != nil {
		t.Fatal(err)
	}
	m := h.read(mainEnd)
	if string(m.Payload) != hostile.ForgedPayload || len(m.Pipes) != 1 {
		t.Fatalf("the attacker's message: %q with %d pipes", m.Payload, len(m.Pipes))
	}
	laundered := m.Pipes[0]
	// The application writes on the end it was given, more than the
	// healthy child's hold (the default) for the parent.
	for i := range ports.DefaultMaxHeldEvents + 100 {
		if err := laundered.WriteMessage(&mage.Message{Payload: []byte("laundered " + strconv.Itoa(i))}); err != nil {
			t.Fatalf("writing %d on the laundered end: %v", i, err)
		}
		if i%1024 == 0 {
			h.roundTrips(1) // and keep the queue toward the child short
		}
	}
	h.roundTrips(50)
	_ = laundered.Close()
	_ = c.Kill()
	if exit := c.Wait(); exit.Cause != launcher.CauseKilled {
		t.Fatalf("attacker: %v, want killed by the test", exit)
	}
	h.roundTrips(50)
	h.finish(c)
}
