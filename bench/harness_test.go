package main

import (
	"context"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tiny is the duration of every measurement loop in these tests: the tests
// check that the numbers are sane, never how large they are.
const tiny = 5 * time.Millisecond

func startSession(t *testing.T, c *contender, clients int) session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	s, err := c.start(ctx, clients, "")
	if err != nil {
		t.Fatalf("%s: start: %v", c.key, err)
	}
	t.Cleanup(func() {
		if err := s.close(); err != nil {
			t.Errorf("%s: close: %v", c.key, err)
		}
	})
	return s
}

func finitePositive(v float64) bool { return v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }

// TestMeasurementsAreSane runs every measurement once, tiny, on every
// contender, with real child processes.
func TestMeasurementsAreSane(t *testing.T) {
	for _, c := range contenders() {
		t.Run(c.key, func(t *testing.T) {
			s := startSession(t, c, 2)
			rt, err := measureRoundTrip(s.client(0), 1024, tiny)
			if err != nil {
				t.Fatal(err)
			}
			if rt.p50 <= 0 || rt.p99 < rt.p50 || rt.n < minSamples {
				t.Errorf("round trip: p50 %v p99 %v over %d calls", rt.p50, rt.p99, rt.n)
			}
			ow, err := measureOneWay(s.client(0), 64<<10, tiny)
			if err != nil {
				t.Fatal(err)
			}
			if ow.n < 16 || !finitePositive(ow.msgsPerSec) || math.Abs(ow.mbPerSec-ow.msgsPerSec*(64<<10)/1e6) > 1e-6*ow.mbPerSec {
				t.Errorf("one-way: %d messages, %v msg/s, %v MB/s", ow.n, ow.msgsPerSec, ow.mbPerSec)
			}
			shared := s.client(0)
			if !c.multiplexed {
				shared = &serialClient{c: shared}
			}
			rate, err := measureConcurrent([]client{shared, shared, s.client(1)}, c.lockThread, tiny)
			if err != nil {
				t.Fatal(err)
			}
			if !finitePositive(rate) {
				t.Errorf("concurrent: %v calls/s", rate)
			}
			a, err := measureAllocs(s.control(), tiny, func() error { return s.client(1).call(make([]byte, 16)) }, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Every contender's callee allocates at least the Go values
			// it decodes into, except the raw ones, which allocate
			// nothing; and no count can be negative.
			if a.parent < 0 || a.child < 0 || math.IsNaN(a.parent+a.child) {
				t.Errorf("allocations: %+v", a)
			}
		})
	}
}

// TestOneWayCountsEveryMessage checks that the ack a one-way run ends with
// counts what was sent: the child's count is the proof the time is honest.
func TestOneWayCountsEveryMessage(t *testing.T) {
	for _, key := range []string{"raw", "mage-pipe", "mage-typed", "ttrpc"} {
		c, err := findContender(key)
		if err != nil {
			t.Fatal(err)
		}
		s := startSession(t, c, 1)
		p := make([]byte, 16)
		for range 100 {
			if err := s.client(0).push(p); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.client(0).sync()
		if err != nil || n != 100 {
			t.Errorf("%s: sync after 100 pushes = %d, %v", key, n, err)
		}
		if n, err := s.client(0).sync(); err != nil || n != 0 {
			t.Errorf("%s: second sync = %d, %v; want 0", key, n, err)
		}
	}
}

func TestIdleMemory(t *testing.T) {
	c, err := findContender("mage-typed")
	if err != nil {
		t.Fatal(err)
	}
	s := startSession(t, c, 1)
	for _, kind := range []string{idlePipe, idleReceiver, idleRemote} {
		v, err := s.control().askFloats("idle "+kind+" 50", 2)
		if err != nil {
			t.Fatal(err)
		}
		if !finitePositive(v[0]) || v[1] < 0 {
			t.Errorf("idle %s: %v bytes and %v goroutines per pipe", kind, v[0], v[1])
		}
	}
	_, err = s.control().ask("idle nonsense 50")
	if !errors.Is(err, errControl) || !strings.Contains(err.Error(), "unknown kind") {
		t.Errorf("idle with a bad kind: %v", err)
	}
}

func TestChain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := startChain(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []client{s.travelled, s.dir} {
		if rt, err := measureRoundTrip(c, 16, tiny); err != nil || rt.p50 <= 0 {
			t.Errorf("round trip: %+v, %v", rt, err)
		}
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
}

// TestColdStart spawns a child and makes its first round trip.
func TestColdStart(t *testing.T) {
	c, err := findContender("raw")
	if err != nil {
		t.Fatal(err)
	}
	d, err := coldStart(context.Background(), c)
	if err != nil || d <= 0 {
		t.Fatalf("cold start: %v, %v", d, err)
	}
}

// fakeChild answers the parent's control commands with answer.
func fakeChild(t *testing.T, answer string) *control {
	t.Helper()
	a, b, err := socketPair()
	if err != nil {
		t.Fatal(err)
	}
	mine, err := unixConn(a)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := unixConn(b)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		if _, err := theirs.Read(buf); err == nil {
			_, _ = theirs.Write([]byte(answer))
		}
		_ = theirs.Close()
	}()
	t.Cleanup(func() {
		_ = mine.Close()
		<-done
	})
	return newControl(mine)
}

// TestControlRejectsBadAnswers plays a child that answers wrongly.
func TestControlRejectsBadAnswers(t *testing.T) {
	for _, tc := range []struct{ answer, want string }{
		{"ok 12 13\n", "want 1 values"},
		{"ok twelve\n", "value 0"},
		{"maybe\n", "malformed answer"},
		{"err it broke\n", "child says: it broke"},
		{"ok 12", "reading the answer"}, // no newline before EOF
		{strings.Repeat("x", 2*maxControlLine), "reading the answer"},
	} {
		_, err := fakeChild(t, tc.answer).mallocs()
		if !errors.Is(err, errControl) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("answer %.20q: got %v, want an error containing %q", tc.answer, err, tc.want)
		}
	}
	if n, err := fakeChild(t, "ok 42\n").mallocs(); err != nil || n != 42 {
		t.Errorf("good answer: %d, %v", n, err)
	}
}

// TestRawRejectsHugeFrame plays a parent that announces a frame larger than
// a raw child accepts.
func TestRawRejectsHugeFrame(t *testing.T) {
	a, b, err := socketPair()
	if err != nil {
		t.Fatal(err)
	}
	mine, err := unixConn(a)
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	theirs, err := unixConn(b)
	if err != nil {
		t.Fatal(err)
	}
	defer theirs.Close()
	served := make(chan error, 1)
	go func() { served <- serveRaw(netRawConn(theirs)) }()
	bad := netRawConn(mine)
	bad.wbuf = append(bad.wbuf[:0], 0xff, 0xff, 0xff, 0x7f, 1, 0, 0, 0)
	if err := bad.w(bad.wbuf); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, errRawFrame) {
		t.Fatalf("serveRaw = %v, want errRawFrame", err)
	}
}

func TestSpliceGenerated(t *testing.T) {
	doc := "# Title\n\nprose before\n\n" + markerBegin + "\nold\n" + markerEnd + "\n\n## Where the time goes\n\nprose after\n"
	got, err := spliceGenerated(doc, markerBegin+"\nnew\n"+markerEnd+"\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Title\n\nprose before\n\n" + markerBegin + "\nnew\n" + markerEnd + "\n\n## Where the time goes\n\nprose after\n"
	if got != want {
		t.Errorf("spliced:\n%s\nwant:\n%s", got, want)
	}
	if _, err := spliceGenerated(markerEnd+markerBegin, "x"); err == nil {
		t.Error("markers out of order: no error")
	}
}

// TestReportWrite writes a report of made-up results and checks the file
// and the PNG.
// TestReportWritePartialRun: a run of some workloads only (here round
// trips at one size, no one-way throughput) still writes its report and
// its plot; the plot's empty panel once made gonum panic on a log axis.
func TestReportWritePartialRun(t *testing.T) {
	res := &results{values: map[string]map[string][]float64{}, reps: 1}
	res.add(rtMetric("p50", 16), "mage-typed", 60)
	dir := t.TempDir()
	out := filepath.Join(dir, "perf.md")
	cfg := &config{reps: 1, duration: tiny, cold: 1, sizes: []int{16}, loadavg: loadAverage()}
	if err := newReport(cfg, res).write(out, filepath.Join(dir, "perf.png")); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "perf.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("plot: %v", err)
	}
}

func TestReportWrite(t *testing.T) {
	res := &results{values: map[string]map[string][]float64{}, reps: 1}
	for _, c := range contenders() {
		for i, size := range defaultSizes {
			res.add(rtMetric("p50", size), c.key, float64(10*(i+1)))
			res.add(owMetric("mbs", size), c.key, float64(100*(i+1)))
		}
	}
	res.add(rtMetric("p50", 16), "raw", 20)
	res.add(rtMetric("p50", 16), "mage-typed", 10)
	dir := t.TempDir()
	out := filepath.Join(dir, "perf.md")
	cfg := &config{reps: 1, duration: tiny, cold: 1, sizes: defaultSizes, loadavg: loadAverage()}
	if err := newReport(cfg, res).write(out, filepath.Join(dir, "perf.png")); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{markerBegin, markerEnd, "| round trip 16 B, p50 |", "](perf.png)", "mage typed no slower than raw net.UnixConn | 0.67 | met"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	f, err := os.Open(filepath.Join(dir, "perf.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 300 {
		t.Errorf("plot is %v, too small to read", b)
	}
}

func TestParseFlags(t *testing.T) {
	var sink strings.Builder
	if _, err := parseFlags([]string{"-only", "raw,nope"}, &sink); err == nil || !strings.Contains(err.Error(), `unknown contender "nope"`) {
		t.Errorf("unknown contender: %v", err)
	}
	cfg, err := parseFlags([]string{"-quick", "-out", "x/perf.md"}, &sink)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.reps != 1 || cfg.plot != "x/perf.png" {
		t.Errorf("quick config: %+v", cfg)
	}
}
