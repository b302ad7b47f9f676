//go:build linux

package invitation_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/mage"
)

// chaosSeed replays one round of TestChaosSIGKILL with the seed a failing
// run printed.
var chaosSeed = flag.Uint64("chaos.seed", 0, "replay TestChaosSIGKILL with this seed (0: fresh seeds)")

func init() {
	treeRoles["chaos-middle"] = chaosMiddle
	treeRoles["chaos-leaf"] = chaosLeaf
}

// The chaos tree: the test process is the root (the broker); it invites
// the two middles, each middle invites two leaves. Every process is named
// by its index here.
const (
	chaosRoot = iota
	chaosA
	chaosB
	chaosA1
	chaosA2
	chaosB1
	chaosB2
	chaosProcs
)

var chaosNames = [chaosProcs]string{"root", "A", "B", "A1", "A2", "B1", "B2"}

// chaosParent is who invited each process; the leaves are invited by a
// middle, so the broker registers them and introduces them to the others.
var chaosParent = [chaosProcs]int{-1, chaosRoot, chaosRoot, chaosA, chaosA, chaosB, chaosB}

// chaosPipes are the pipes of the tree, each between processes of
// different branches. The root makes every one of them and sends each end
// that is not its own down the tree, through the end's middle for a leaf:
// routes start as chains through the root and a middle and must collapse.
var chaosPipes = [][2]int{
	{chaosA1, chaosB1}, {chaosA2, chaosB2}, {chaosA1, chaosB2}, {chaosA2, chaosB1},
	{chaosRoot, chaosA1}, {chaosRoot, chaosB2},
	{chaosA, chaosB}, {chaosA, chaosB1}, {chaosB, chaosA2},
	{chaosA1, chaosB2},
}

// chaosMoving is the pipe whose side 1 moves while traffic flows: the root
// plays it first, up to a message count, then sends it to B2 with the
// messages it has not read; B2 takes the stream over where the root left
// it.
const chaosMoving = 9

// chaosPlan is what a process of the tree does: its ends (Pipes[i] is the
// pipe of the i-th attached end, Sides[i] which of its two ends), how many
// messages it sends on each, and, for a victim, after how many received
// messages it SIGKILLs itself.
type chaosPlan struct {
	Proc   int
	N      int
	Pad    int
	KillAt int64
	Pipes  []int
	Sides  []int
	// SendFrom and RecvFrom are where the streams of an end taken over
	// mid-way stand (only for chaosMoving, handed from root to B2).
	SendFrom, RecvFrom int
	// TakeOver says the root will hand this process chaosMoving's end.
	TakeOver bool
}

// chaosForward asks a middle to pass its attachments to its Leaf-th leaf.
type chaosForward struct {
	Leaf int
	Plan chaosPlan
}

// chaosEnd is what one end received: Got messages, all in order, then End
// ("" when it had them all, "lost" for a *mage.PeerClosedError with
// NodeLost, "closed" for an orderly closure, else the error), Bad the
// first wrong message, WriteErr a write error other than ErrPeerClosed.
type chaosEnd struct {
	Pipe, Side, Got int
	Sent            int
	End, Bad        string
	WriteErr        string
}

// chaosHandOver is how the root's part of chaosMoving went: what its end
// received and sent, and whether the hand-over to B2 failed because B2 was
// known dead.
type chaosHandOver struct {
	end    chaosEnd
	failed bool
}

type chaosReport struct {
	Proc int
	Ends []chaosEnd
}

func readPlan(ctx context.Context, p mage.MessagePipe, v any) (*mage.Message, error) {
	m, err := read(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(m.Payload, v); err != nil {
		return nil, fmt.Errorf("bad plan %q: %w", m.Payload, err)
	}
	return m, nil
}

func sendJSON(p mage.MessagePipe, v any, pipes ...mage.MessagePipe) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return p.WriteMessage(&mage.Message{Payload: b, Pipes: pipes})
}

func expect(ctx context.Context, p mage.MessagePipe, want string) error {
	m, err := read(ctx, p)
	if err != nil {
		return err
	}
	if string(m.Payload) != want {
		return fmt.Errorf("got %q, want %q", m.Payload, want)
	}
	return nil
}

// dieAt returns what a process calls after each message it receives: a
// victim SIGKILLs itself at its KillAt-th message, so the kill points are
// message counts, not times.
func dieAt(plan chaosPlan) func() {
	var received atomic.Int64
	return func() {
		if received.Add(1) == plan.KillAt {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
}

// chaosPayload is message seq of one side of a pipe: the pipe, the side,
// the number, and pad bytes derived from them so corruption shows.
func chaosPayload(pipe, side, seq, pad int) []byte {
	n := (seq*7919 + pipe*31) % (pad + 1)
	b := make([]byte, 12+n)
	binary.LittleEndian.PutUint32(b, uint32(pipe))
	binary.LittleEndian.PutUint32(b[4:], uint32(side))
	binary.LittleEndian.PutUint32(b[8:], uint32(seq))
	for i := range n {
		b[12+i] = byte(seq + i)
	}
	return b
}

// runTraffic sends plan.N numbered messages on every end while reading
// the peer's, both directions at once, and says what each end received.
func runTraffic(ctx context.Context, plan chaosPlan, ends []mage.MessagePipe, received func()) []chaosEnd {
	return runTrafficKeeping(ctx, plan, ends, received, false)
}

// runTrafficKeeping is runTraffic; with keep, it leaves the ends open, to
// be sent on.
func runTrafficKeeping(ctx context.Context, plan chaosPlan, ends []mage.MessagePipe, received func(), keep bool) []chaosEnd {
	out := make([]chaosEnd, len(ends))
	var wg sync.WaitGroup
	for i, end := range ends {
		r := &out[i]
		r.Pipe, r.Side = plan.Pipes[i], plan.Sides[i]
		r.Got, r.Sent = plan.RecvFrom, plan.SendFrom
		var ew sync.WaitGroup
		ew.Add(2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ew.Wait()
			if !keep {
				_ = end.Close()
			}
		}()
		go func() {
			defer ew.Done()
			for ; r.Sent < plan.N; r.Sent++ {
				err := end.WriteMessage(&mage.Message{Payload: chaosPayload(r.Pipe, r.Side, r.Sent, plan.Pad)})
				if errors.Is(err, mage.ErrPeerClosed) {
					return
				}
				if err != nil {
					r.WriteErr = err.Error()
					return
				}
			}
		}()
		go func() {
			defer ew.Done()
			for r.Got < plan.N {
				m, err := read(ctx, end)
				var pce *mage.PeerClosedError
				switch {
				case errors.As(err, &pce) && pce.NodeLost:
					r.End = "lost"
					return
				case errors.Is(err, mage.ErrPeerClosed):
					r.End = "closed"
					return
				case err != nil:
					r.End = err.Error()
					return
				}
				if want := chaosPayload(r.Pipe, 1-r.Side, r.Got, plan.Pad); string(m.Payload) != string(want) || len(m.Pipes) != 0 {
					r.Bad = fmt.Sprintf("message %d: got %d bytes %x…, want %d bytes %x…", r.Got, len(m.Payload), m.Payload[:min(12, len(m.Payload))], len(want), want[:12])
					return
				}
				r.Got++
				received()
			}
		}()
	}
	wg.Wait()
	return out
}

// chaosMiddle invites two leaves, passes each the plan and ends the root
// sends for it, waits until its routes collapsed (it holds no proxy: it
// may die without breaking a pipe it only passed on), then plays its own
// plan and reports to the root.
func chaosMiddle(ctx context.Context, up mage.MessagePipe) error {
	var leaves [2]mage.MessagePipe
	var cmds []*exec.Cmd
	defer func() {
		for _, p := range leaves {
			if p.IsValid() {
				_ = p.Close()
			}
		}
		for _, cmd := range cmds {
			_ = cmd.Wait() // a leaf may be a victim
		}
	}()
	for i := range leaves {
		cmd, p, err := invite(ctx, "chaos-leaf")
		if err != nil {
			return err
		}
		cmds = append(cmds, cmd)
		leaves[i] = p
	}
	var plan chaosPlan
	m, err := readPlan(ctx, up, &plan)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	ends := m.Pipes
	if len(ends) != len(plan.Pipes) || len(plan.Sides) != len(plan.Pipes) {
		return fmt.Errorf("got %d pipes for %d ends", len(ends), len(plan.Pipes))
	}
	for range leaves {
		var fwd chaosForward
		m, err := readPlan(ctx, up, &fwd)
		if err != nil {
			return fmt.Errorf("forward: %w", err)
		}
		if fwd.Leaf < 0 || fwd.Leaf >= len(leaves) {
			return fmt.Errorf("forward to leaf %d", fwd.Leaf)
		}
		if err := sendJSON(leaves[fwd.Leaf], fwd.Plan, m.Pipes...); err != nil {
			return err
		}
	}
	node := up.Node()
	want := 1 + len(leaves) + len(ends)
	if err := eventually(ctx, func() bool { return node.PortCount() == want }); err != nil {
		return fmt.Errorf("routes through %s did not collapse: %d ports, want %d: %w", chaosNames[plan.Proc], node.PortCount(), want, err)
	}
	if err := send(up, "ready:"+strconv.Itoa(os.Getpid())); err != nil {
		return err
	}
	if err := expect(ctx, up, "go"); err != nil {
		return err
	}
	res := runTraffic(ctx, plan, ends, dieAt(plan))
	if err := sendJSON(up, chaosReport{Proc: plan.Proc, Ends: res}); err != nil {
		return err
	}
	// Stay, and keep the leaves, until the root has every report.
	if _, err := read(ctx, up); !errors.Is(err, mage.ErrPeerClosed) {
		return fmt.Errorf("waiting for the root to finish: %w", err)
	}
	return nil
}

// chaosLeaf gets its plan, a report pipe to the root and its ends from its
// middle, says ready on the report pipe, plays and reports there.
func chaosLeaf(ctx context.Context, up mage.MessagePipe) error {
	var plan chaosPlan
	m, err := readPlan(ctx, up, &plan)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if len(m.Pipes) != 1+len(plan.Pipes) || len(plan.Sides) != len(plan.Pipes) {
		return fmt.Errorf("got %d pipes for %d ends", len(m.Pipes), len(plan.Pipes))
	}
	report, ends := m.Pipes[0], m.Pipes[1:]
	defer report.Close()
	if err := send(report, "ready:"+strconv.Itoa(os.Getpid())); err != nil {
		return err
	}
	if err := expect(ctx, report, "go"); err != nil {
		return err
	}
	onReceived := dieAt(plan)
	var taken []chaosEnd
	var takeErr error
	var wg sync.WaitGroup
	if plan.TakeOver {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sub chaosPlan
			m, err := readPlan(ctx, report, &sub)
			if err != nil || len(m.Pipes) != 1 || len(sub.Pipes) != 1 || sub.Pipes[0] != chaosMoving {
				takeErr = fmt.Errorf("no hand-over of pipe %d: %v", chaosMoving, err)
				return
			}
			taken = runTraffic(ctx, sub, m.Pipes, onReceived)
		}()
	}
	res := runTraffic(ctx, plan, ends, onReceived)
	wg.Wait()
	if takeErr != nil {
		return takeErr
	}
	res = append(res, taken...)
	if err := sendJSON(report, chaosReport{Proc: plan.Proc, Ends: res}); err != nil {
		return err
	}
	if _, err := read(ctx, report); !errors.Is(err, mage.ErrPeerClosed) {
		return fmt.Errorf("waiting for the root to finish: %w", err)
	}
	return nil
}

// eventually waits, until ctx ends, for cond to hold. It polls: nothing
// outside package mage signals a change of a node's port count.
func eventually(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// waitGone waits, until ctx ends, for process pid to have exited. It works
// for a grandchild orphaned when its middle was killed, which only init
// reaps.
func waitGone(ctx context.Context, pid int) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for {
		dl, ok := ctx.Deadline()
		ms := 1000
		if ok {
			ms = max(1, int(time.Until(dl)/time.Millisecond))
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return err
		case n > 0:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("process %d still runs: %w", pid, ctx.Err())
		}
	}
}

// TestChaosSIGKILL runs the tree under load (every pipe carries a numbered
// stream each way, one end moves mid-stream) and SIGKILLs a random subset
// of its six children at random message counts, theirs or the root's.
// Every pipe whose two processes survived must deliver every message
// exactly once, in order, both ways; a survivor whose peer died gets a
// prefix of the stream and then ErrPeerClosed with NodeLost. Each round
// ends with the root's goroutines, descriptors and ports at their baseline
// and every process of the tree gone. Run with -chaos.seed=N to replay a
// round (the kills and the hand-over; the interleaving is the machine's).
func TestChaosSIGKILL(t *testing.T) {
	if *chaosSeed != 0 {
		chaosRound(t, *chaosSeed)
		return
	}
	rounds, base := 8, uint64(time.Now().UnixNano())
	if testing.Short() {
		rounds = 3
	}
	for i := range rounds {
		seed := base + uint64(i)*0x9e3779b97f4a7c15
		if !t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { chaosRound(t, seed) }) {
			return
		}
	}
}

func chaosRound(t *testing.T, seed uint64) {
	t.Logf("seed %d (replay with -chaos.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>32|1))
	n := 1000
	if testing.Short() {
		n = 300
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leaks := goleak.IgnoreCurrent()
	baseFDs := openFDs(t)
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()

	// The plans: every process's ends, and the victims' kill points.
	plans := make([]chaosPlan, chaosProcs)
	ends := make([][]mage.MessagePipe, chaosProcs)
	pad := 256 + rng.IntN(768)
	handAt := 1 + rng.IntN(n/3)
	for i := range plans {
		plans[i] = chaosPlan{Proc: i, N: n, Pad: pad}
	}
	var moving mage.MessagePipe
	for pipe, pair := range chaosPipes {
		e0, e1 := node.CreatePipe()
		for side, e := range []mage.MessagePipe{e0, e1} {
			p := pair[side]
			if pipe == chaosMoving && side == 1 {
				moving = e
				plans[p].TakeOver = true
				continue
			}
			plans[p].Pipes = append(plans[p].Pipes, pipe)
			plans[p].Sides = append(plans[p].Sides, side)
			ends[p] = append(ends[p], e)
		}
	}
	// A victim SIGKILLs itself at its KillAt-th received message, or the
	// root SIGKILLs it at the root's rootKillAt[v]-th: then the victim is
	// caught wherever it is, not at a read.
	victims := map[int]bool{}
	rootKillAt := map[int64][]int{}
	rootTotal := n * len(plans[chaosRoot].Pipes)
	for _, v := range rng.Perm(chaosProcs - 1)[:1+rng.IntN(3)] {
		v++
		victims[v] = true
		if rng.IntN(2) == 0 {
			at := int64(1 + rng.IntN(rootTotal*3/4))
			rootKillAt[at] = append(rootKillAt[at], v)
			t.Logf("victim %s: SIGKILL by the root at the root's message %d of %d", chaosNames[v], at, rootTotal)
			continue
		}
		total := n * len(plans[v].Pipes)
		plans[v].KillAt = int64(1 + rng.IntN(total*3/4))
		t.Logf("victim %s: SIGKILL by itself at its message %d of %d", chaosNames[v], plans[v].KillAt, total)
	}

	// The middles, invited by the root; the leaves, by the middles.
	cmds := map[int]*exec.Cmd{}
	reports := make([]mage.MessagePipe, chaosProcs)
	defer func() {
		for _, p := range reports {
			if p.IsValid() {
				_ = p.Close()
			}
		}
		for _, cmd := range cmds {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	for _, mid := range []int{chaosA, chaosB} {
		inv := invitation.New(node)
		up, err := inv.Attach("main")
		if err != nil {
			t.Fatal(err)
		}
		cmd := childCommand("chaos-middle")
		// The race detector's second of grace at exit, once per level of
		// the tree, would be most of the round's time; the leaves inherit
		// this from their middle.
		cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
		cmd.Stderr = os.Stderr
		if err := inv.PrepareCommand(cmd); err != nil {
			t.Fatal(err)
		}
		err = cmd.Start()
		inv.CloseChildSide()
		if err != nil {
			t.Fatal(err)
		}
		cmds[mid] = cmd
		if _, err := inv.Send(ctx); err != nil {
			t.Fatal(err)
		}
		reports[mid] = up
		if err := sendJSON(up, plans[mid], ends[mid]...); err != nil {
			t.Fatal(err)
		}
	}
	for leaf := chaosA1; leaf < chaosProcs; leaf++ {
		mine, theirs := node.CreatePipe()
		reports[leaf] = mine
		fwd := chaosForward{Leaf: (leaf - chaosA1) % 2, Plan: plans[leaf]}
		if err := sendJSON(reports[chaosParent[leaf]], fwd, append([]mage.MessagePipe{theirs}, ends[leaf]...)...); err != nil {
			t.Fatal(err)
		}
	}

	// Ready, with every route collapsed; then go, all at once.
	pids := make([]int, chaosProcs)
	for p := chaosA; p < chaosProcs; p++ {
		m, err := read(ctx, reports[p])
		if err != nil {
			t.Fatalf("%s not ready: %v", chaosNames[p], err)
		}
		pid, ok := strings.CutPrefix(string(m.Payload), "ready:")
		if pids[p], err = strconv.Atoi(pid); !ok || err != nil {
			t.Fatalf("%s said %q, not ready", chaosNames[p], m.Payload)
		}
	}
	for p := chaosA; p < chaosProcs; p++ {
		if err := send(reports[p], "go"); err != nil {
			t.Fatal(err)
		}
	}
	results := make([][]chaosEnd, chaosProcs)
	killed := make([]atomic.Bool, chaosProcs)
	var rootReceived atomic.Int64
	rootDone := make(chan struct{})
	var handed chaosHandOver
	var rootWG sync.WaitGroup
	rootKills := func() {
		for _, v := range rootKillAt[rootReceived.Add(1)] {
			killed[v].Store(true)
			if err := syscall.Kill(pids[v], syscall.SIGKILL); err != nil {
				t.Errorf("kill %s: %v", chaosNames[v], err)
			}
		}
	}
	rootWG.Add(2)
	go func() {
		defer rootWG.Done()
		results[chaosRoot] = runTraffic(ctx, plans[chaosRoot], ends[chaosRoot], rootKills)
	}()
	// The moving end: the root's part of its streams, then the hand-over
	// to B2, with what the root has not read still queued on it.
	go func() {
		defer rootWG.Done()
		part := chaosPlan{Proc: chaosRoot, N: handAt, Pad: pad, Pipes: []int{chaosMoving}, Sides: []int{1}}
		r := runTrafficKeeping(ctx, part, []mage.MessagePipe{moving}, rootKills, true)[0]
		handed.end = r
		if r.Bad != "" || r.WriteErr != "" {
			t.Errorf("pipe %d at the root, before its hand-over: %s%s", chaosMoving, r.Bad, r.WriteErr)
		}
		rest := chaosPlan{Proc: chaosB2, N: n, Pad: pad, Pipes: []int{chaosMoving}, Sides: []int{1}, SendFrom: r.Sent, RecvFrom: r.Got}
		// B2 may be dead already: then WriteMessage closes the end it
		// carries (an orderly closure, by the root), and A1 reads that.
		err := sendJSON(reports[chaosB2], rest, moving)
		handed.failed = errors.Is(err, mage.ErrPeerClosed)
		if err != nil && !handed.failed {
			t.Errorf("hand-over of pipe %d: %v", chaosMoving, err)
		}
	}()
	go func() {
		defer close(rootDone)
		rootWG.Wait()
	}()

	// The reports, or the loss of the process.
	died := make([]bool, chaosProcs)
	for p := chaosA; p < chaosProcs; p++ {
		var rep chaosReport
		_, err := readPlan(ctx, reports[p], &rep)
		var pce *mage.PeerClosedError
		switch {
		case errors.As(err, &pce) && pce.NodeLost:
			died[p] = true
			if !victims[p] {
				t.Errorf("%s died, and was no victim: %v", chaosNames[p], err)
			}
			t.Logf("%s died: %v", chaosNames[p], err)
		case err != nil:
			t.Fatalf("no report from %s: %v", chaosNames[p], err)
		case rep.Proc != p:
			t.Fatalf("%s reported as %d", chaosNames[p], rep.Proc)
		default:
			results[p] = rep.Ends
		}
	}
	<-rootDone
	// One the root killed after its report is dead all the same: what it
	// had queued toward its peers may be lost.
	for p := range died {
		if killed[p].Load() {
			died[p] = true
		}
		if victims[p] && !died[p] {
			t.Logf("victim %s survived: its kill point never came (its peers died first)", chaosNames[p])
		}
	}

	// Everyone's pipes closed; every child gone.
	for i, p := range reports {
		if p.IsValid() {
			_ = p.Close()
			reports[i] = mage.MessagePipe{}
		}
	}
	for p, cmd := range cmds {
		err := cmd.Wait()
		delete(cmds, p)
		var ee *exec.ExitError
		switch {
		case died[p]:
			if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Errorf("%s: %v, want killed by SIGKILL", chaosNames[p], err)
			}
		case err != nil:
			t.Errorf("%s: %v", chaosNames[p], err)
		}
	}
	for p := chaosA1; p < chaosProcs; p++ {
		if err := waitGone(ctx, pids[p]); err != nil {
			t.Errorf("%s: %v", chaosNames[p], err)
		}
	}

	checkChaos(t, results, died, handed)

	if err := eventually(ctx, func() bool { return node.PortCount() == 0 }); err != nil {
		t.Errorf("the root holds %d ports after the round: %v", node.PortCount(), err)
	}
	_ = node.Close()
	goleak.VerifyNone(t, leaks)
	// More than before is a leak. Fewer is not: the baseline may count a
	// descriptor an earlier test was still closing.
	if got := openFDs(t); got > baseFDs {
		t.Errorf("%d descriptors open after the round, %d before", got, baseFDs)
	}
}

// checkChaos checks every pipe against the property, from what its ends
// reported. An end that learned its peer's node was lost and was then sent
// on must read NodeLost at its destination too: the loss travels in its
// descriptor.
func checkChaos(t *testing.T, results [][]chaosEnd, died []bool, handed chaosHandOver) {
	t.Helper()
	seen := map[[2]int]chaosEnd{}
	for p, res := range results {
		for _, r := range res {
			if r.Pipe < 0 || r.Pipe >= len(chaosPipes) || chaosPipes[r.Pipe][r.Side] != p {
				t.Fatalf("%s reported an end it does not hold: %+v", chaosNames[p], r)
			}
			seen[[2]int{r.Pipe, r.Side}] = r
		}
	}
	whole, cut, prefix := 0, 0, 0
	for pipe, pair := range chaosPipes {
		for side, p := range pair {
			if died[p] {
				continue
			}
			r, ok := seen[[2]int{pipe, side}]
			if !ok {
				t.Errorf("pipe %d: no result from %s", pipe, chaosNames[p])
				continue
			}
			peer := pair[1-side]
			what := fmt.Sprintf("pipe %d %s<-%s", pipe, chaosNames[p], chaosNames[peer])
			if r.Bad != "" {
				t.Errorf("%s: out of order, duplicated or corrupt: %s", what, r.Bad)
			}
			if r.WriteErr != "" {
				t.Errorf("%s: write: %s", what, r.WriteErr)
			}
			if !died[peer] {
				// Both alive: everything, exactly once.
				if r.End != "" {
					t.Errorf("%s: both processes live, yet after %d messages: %s", what, r.Got, r.End)
				}
				whole++
				continue
			}
			cut++
			if r.End != "" {
				prefix++
			}
			if pipe == chaosMoving && side == 0 && r.End == "closed" && handed.failed {
				continue // the root closed the end it could not hand over
			}
			if r.End != "" && r.End != "lost" {
				t.Errorf("%s: the peer's process died; after %d messages got %s, want a PeerClosedError with NodeLost", what, r.Got, r.End)
			}
		}
	}
	t.Logf("%d ends whole; %d ends of pipes cut by a kill, %d of them cut short", whole, cut, prefix)
}

func init() {
	treeRoles["chaos-hold"] = chaosHold
	treeRoles["chaos-probe"] = chaosProbe
}

// chaosHold takes the pipes of one message, says so, and holds them until
// it is killed or the root closes.
func chaosHold(ctx context.Context, up mage.MessagePipe) error {
	m, err := read(ctx, up)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := send(up, "held"); err != nil {
		return err
	}
	// Hold until killed, or the root closes.
	_, err = read(ctx, up)
	if errors.Is(err, mage.ErrPeerClosed) {
		err = nil
	}
	return err
}

// chaosProbe reads the end the root sends it and reports how it ends:
// "lost" for a PeerClosedError with NodeLost, "closed" for an orderly
// closure, else what came.
func chaosProbe(ctx context.Context, up mage.MessagePipe) error {
	m, err := read(ctx, up)
	if err != nil {
		return err
	}
	if len(m.Pipes) != 1 {
		return fmt.Errorf("got %d pipes, want 1", len(m.Pipes))
	}
	end := m.Pipes[0]
	defer end.Close()
	got, err := read(ctx, end)
	var pce *mage.PeerClosedError
	switch {
	case errors.As(err, &pce) && pce.NodeLost:
		return send(up, "lost")
	case errors.Is(err, mage.ErrPeerClosed):
		return send(up, "closed")
	case err != nil:
		return send(up, err.Error())
	}
	return send(up, fmt.Sprintf("a message: %q", got.Payload))
}

// startChild invites the test binary in role as a child of node, with a
// pipe "main".
func startChild(ctx context.Context, t *testing.T, node *mage.Node, role string) (*exec.Cmd, mage.MessagePipe) {
	t.Helper()
	inv := invitation.New(node)
	up, err := inv.Attach("main")
	if err != nil {
		t.Fatal(err)
	}
	cmd := childCommand(role)
	cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	cmd.Stderr = os.Stderr
	if err := inv.PrepareCommand(cmd); err != nil {
		t.Fatal(err)
	}
	err = cmd.Start()
	inv.CloseChildSide()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = up.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if _, err := inv.Send(ctx); err != nil {
		t.Fatal(err)
	}
	return cmd, up
}

// TestLossTravelsWithAMovedEnd is the smallest form of what the chaos test
// found: an end whose peer's process was SIGKILLed, sent on after the loss
// was seen, must read NodeLost at its new home too (the descriptor's
// peer-lost flag).
func TestLossTravelsWithAMovedEnd(t *testing.T) {
	ctx := ctxFor(t)
	leaks := goleak.IgnoreCurrent()
	node := mage.NewNode(mage.NodeOptions{})
	defer node.Close()
	holder, holderUp := startChild(ctx, t, node, "chaos-hold")
	a, b := node.CreatePipe()
	if err := send(holderUp, "hold this", a); err != nil {
		t.Fatal(err)
	}
	if err := expect(ctx, holderUp, "held"); err != nil {
		t.Fatal(err)
	}
	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, err := read(ctx, b)
	var pce *mage.PeerClosedError
	if !errors.As(err, &pce) || !pce.NodeLost {
		t.Fatalf("at the root, after the holder's SIGKILL: %v, want a PeerClosedError with NodeLost", err)
	}
	_, probeUp := startChild(ctx, t, node, "chaos-probe")
	if err := send(probeUp, "read this", b); err != nil {
		t.Fatal(err)
	}
	m, err := read(ctx, probeUp)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m.Payload); got != "lost" {
		t.Errorf("the moved end read %s, want a PeerClosedError with NodeLost", got)
	}
	_ = probeUp.Close()
	_ = holderUp.Close()
	_ = node.Close()
	goleak.VerifyNone(t, leaks)
}
