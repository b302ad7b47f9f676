package view

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/mage-ipc/mage/cmd/mage-run/internal/tree"
)

// JSON writes the tree's life as JSON lines, for scripts: one object per
// change of an instance ("type": "state"), one when the tree is up
// ("type": "up"), and the result at the end ("type": "result").
type JSON struct {
	// mu serialises lines.
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSON returns a JSON view writing to out.
func NewJSON(out io.Writer) *JSON { return &JSON{enc: json.NewEncoder(out)} }

// jsonState is one change of an instance.
type jsonState struct {
	Type     string    `json:"type"`
	Time     time.Time `json:"time"`
	Instance string    `json:"instance"`
	State    string    `json:"state"`
	Pid      int       `json:"pid,omitempty"`
	Restarts int       `json:"restarts"`
	Detail   string    `json:"detail,omitempty"`
}

// jsonInstance is one instance in the result.
type jsonInstance struct {
	Instance string  `json:"instance"`
	Depth    int     `json:"depth"`
	Result   string  `json:"result"`
	Restarts int     `json:"restarts"`
	MsgsIn   *uint64 `json:"msgs_in,omitempty"`
	MsgsOut  *uint64 `json:"msgs_out,omitempty"`
	LastExit string  `json:"last_exit,omitempty"`
	// ReadyAfterMS is how long its last ready run took to be ready, in
	// milliseconds; absent when it never was.
	ReadyAfterMS *int64 `json:"ready_after_ms,omitempty"`
	// CPUSeconds is the CPU time its processes used over every run (up to
	// each one's last sample), MaxRSS the largest resident memory a sample
	// saw, in bytes; both absent when none was sampled.
	CPUSeconds *float64 `json:"cpu_seconds,omitempty"`
	MaxRSS     *uint64  `json:"max_rss_bytes,omitempty"`
}

// Event writes ev.
func (j *JSON) Event(ev tree.Event) {
	state := ev.State.String()
	switch {
	case ev.State == tree.StateEnded:
		state = ev.Outcome.String()
	case ev.State == tree.StateRunning && ev.Ready:
		state = "ready"
	}
	j.write(jsonState{Type: "state", Time: ev.Time, Instance: ev.Instance, State: state, Pid: ev.Pid, Restarts: ev.Restarts, Detail: ev.Detail})
}

// Up writes that the tree is up.
func (j *JSON) Up(at time.Time) {
	j.write(struct {
		Type string    `json:"type"`
		Time time.Time `json:"time"`
	}{"up", at})
}

// Result writes the result of the tree, with the status mage-run exits
// with.
func (j *JSON) Result(rows []tree.Row, counters CountersFunc, status int) {
	out := struct {
		Type      string         `json:"type"`
		Status    int            `json:"status"`
		Instances []jsonInstance `json:"instances"`
	}{Type: "result", Status: status, Instances: []jsonInstance{}}
	for _, r := range rows {
		in := jsonInstance{Instance: r.Instance, Depth: r.Depth, Result: result(r), Restarts: r.Restarts}
		if counters != nil {
			if c, ok := counters(r); ok {
				in.MsgsIn, in.MsgsOut = &c.In, &c.Out
			}
		}
		if r.LastExit != nil {
			in.LastExit = r.LastExit.String()
		}
		if r.EverReady {
			ms := r.ReadyAfter.Milliseconds()
			in.ReadyAfterMS = &ms
		}
		if r.HasUsage {
			cpu, peak := r.CPUTime.Seconds(), r.PeakRSS
			in.CPUSeconds, in.MaxRSS = &cpu, &peak
		}
		out.Instances = append(out.Instances, in)
	}
	j.write(out)
}

func (j *JSON) write(v any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	// A broken stdout has nowhere to report to.
	_ = j.enc.Encode(v)
}
