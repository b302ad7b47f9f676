package tree

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/spec"
)

// Probes. Once a run is running, its ready probe (if any) is checked
// until it passes SuccessThreshold times in a row: then the run is ready
// and its health probe (if any) takes over, checked until the run ends.
// Each periodic probe is a goroutine of its own (a prober) that reports
// every check to the loop; the loop keeps the counts and decides.

// probeStage says which of a run's probes a check belongs to.
type probeStage uint8

const (
	stageReady probeStage = iota
	stageHealth
)

func (s probeStage) String() string {
	if s == stageReady {
		return "ready"
	}
	return "health"
}

// probeEvent is the result of one check.
type probeEvent struct {
	in    *instance
	run   int
	stage probeStage
	err   error
}

// readyEvent says a run is ready by an event: a line, or a call of
// Supervisor.Ready.
type readyEvent struct {
	in  *instance
	run int
	how string
}

// announcedEvent says a run announced its address.
type announcedEvent struct {
	in      *instance
	run     int
	address string
}

// errNoAddress fails a check that needs the address the process has not
// announced yet.
var errNoAddress = errors.New("no address announced yet")

// beginProbes starts what decides when in's current run is ready.
func (t *Tree) beginProbes(in *instance) {
	pr := in.block.Ready
	switch {
	case pr == nil:
		t.markReady(in, "")
	case pr.Periodic():
		t.startProber(in, stageReady, pr)
	case in.watch != nil && pr.Kind == spec.ProbeLine:
		// The line may have come before the run was known to be running.
		if how := in.watch.seenReadyLine(); how != "" {
			t.markReady(in, how)
		}
	}
}

// startProber starts the goroutine that checks pr for in's current run.
func (t *Tree) startProber(in *instance, stage probeStage, pr *spec.Probe) {
	t.stopProber(in)
	ctx, cancel := context.WithCancel(context.Background())
	in.stopProbe = cancel
	in.probeOK, in.probeFailed = 0, 0
	run, watch := in.run, in.watch
	t.workers.Add(1)
	go func() {
		defer t.workers.Done()
		t.probe(ctx, in, run, stage, pr, watch)
	}()
}

// stopProber ends in's prober, if one runs. It does not wait: the prober
// returns at its next step.
func (t *Tree) stopProber(in *instance) {
	if in.stopProbe != nil {
		in.stopProbe()
		in.stopProbe = nil
	}
}

// probe checks pr every period until ctx ends, and reports each check.
func (t *Tree) probe(ctx context.Context, in *instance, run int, stage probeStage, pr *spec.Probe, watch *outputWatch) {
	wait := pr.InitialDelay
	for {
		if wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
		}
		err := check(ctx, in.block, pr, watch)
		if ctx.Err() != nil {
			return
		}
		select {
		case t.events <- probeEvent{in: in, run: run, stage: stage, err: err}:
		case <-ctx.Done():
			return
		case <-t.done:
			return
		}
		wait = pr.Period
	}
}

// check runs one check of pr, bounded by its timeout.
func check(ctx context.Context, b *spec.Process, pr *spec.Probe, watch *outputWatch) error {
	ctx, cancel := context.WithTimeout(ctx, pr.Timeout)
	defer cancel()
	target := pr.Target
	if pr.UsesAddress {
		addr := ""
		if watch != nil {
			addr = watch.announced()
		}
		if addr == "" {
			return errNoAddress
		}
		target = strings.ReplaceAll(target, spec.AddressPlaceholder, addr)
	}
	switch pr.Kind {
	case spec.ProbeExec:
		return checkExec(ctx, b, pr)
	case spec.ProbeTCP:
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", target)
		if err != nil {
			return err
		}
		return conn.Close()
	case spec.ProbeHTTP:
		return checkHTTP(ctx, target)
	case spec.ProbeFile:
		_, err := os.Stat(pr.File)
		return err
	}
	return fmt.Errorf("%v probes are not periodic", pr.Kind)
}

func checkExec(ctx context.Context, b *spec.Process, pr *spec.Probe) error {
	cmd := exec.CommandContext(ctx, pr.Command[0], pr.Command[1:]...)
	cmd.Dir = b.Dir
	cmd.Env = os.Environ()
	for k, v := range b.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// A probe that leaves a child holding its output must not hang us.
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if last := lastLine(out); last != "" {
			return fmt.Errorf("%w: %s", err, last)
		}
		return err
	}
	return nil
}

func checkHTTP(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// lastLine returns the last non-empty line of out, cut to 200 bytes.
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if len(last) > 200 {
		last = last[:200]
	}
	return last
}

func strconvQuote(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strconv.Quote(s)
}

func (ev probeEvent) apply(t *Tree) {
	in := ev.in
	if ev.run != in.run || in.state != StateRunning {
		return // a late check of a run that has ended or is stopping
	}
	pr := in.block.Ready
	if ev.stage == stageHealth {
		pr = in.block.Health
	}
	log := t.log.Named(in.name)
	if ev.err == nil {
		in.probeOK++
		if in.probeOK >= pr.SuccessThreshold {
			in.probeFailed = 0
		}
		if ev.stage == stageReady && in.probeOK >= pr.SuccessThreshold {
			t.markReady(in, pr.Kind.String()+" probe")
		}
		return
	}
	in.probeOK = 0
	in.probeFailed++
	log.Debug("probe failed", "probe", ev.stage.String(), "kind", pr.Kind.String(), "failures", in.probeFailed, "error", ev.err)
	if pr.FailureThreshold == 0 || in.probeFailed < pr.FailureThreshold {
		return
	}
	why := fmt.Sprintf("unhealthy: %d %s checks failed, the last: %v", in.probeFailed, pr.Kind, ev.err)
	if ev.stage == stageReady {
		why = fmt.Sprintf("not ready: %d %s checks failed, the last: %v", in.probeFailed, pr.Kind, ev.err)
	}
	log.Warn("process failed its probe; stopping it", "probe", ev.stage.String(), "reason", why)
	in.unhealthy = why
	in.ready = false
	t.stopProber(in)
	t.observe(in, why)
	t.stopProcess(in)
}

func (ev readyEvent) apply(t *Tree) {
	in := ev.in
	if ev.run != in.run || in.state != StateRunning || in.ready {
		return
	}
	if pr := in.block.Ready; pr != nil && pr.Kind == spec.ProbeLine && strings.HasPrefix(ev.how, "line") {
		t.markReady(in, ev.how)
	}
}

func (ev announcedEvent) apply(t *Tree) {
	if ev.run == ev.in.run {
		t.log.Named(ev.in.name).Info("process announced its address", "address", ev.address)
	}
}

// markReady records that in's current run is ready, and starts its
// health probe.
func (t *Tree) markReady(in *instance, how string) {
	if in.ready {
		return
	}
	t.stopProber(in)
	in.ready, in.everReady = true, true
	in.readyAfter = time.Since(in.launchedAt)
	if how != "" {
		t.log.Named(in.name).Info("process ready", "by", how, "after", in.readyAfter.Round(time.Millisecond))
	}
	t.observe(in, "")
	if pr := in.block.Health; pr != nil {
		t.startProber(in, stageHealth, pr)
	}
	t.startReady(t.siblings(in))
}
