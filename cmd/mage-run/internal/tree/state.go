package tree

import "fmt"

// State is where an instance is in its life.
type State uint8

// The states of an instance.
const (
	// StateWaiting: not started yet; it starts once its parent runs.
	StateWaiting State = iota
	// StateStarting: its process runs and has not accepted its invitation
	// yet.
	StateStarting
	// StateRunning: it accepted its invitation.
	StateRunning
	// StateStopping: mage-run asked it to stop and waits for it to exit.
	StateStopping
	// StateBackoff: it exited and will be started again after a delay.
	StateBackoff
	// StateEnded: it has ended for good; Outcome says how.
	StateEnded
)

var stateNames = [...]string{
	StateWaiting:  "waiting",
	StateStarting: "starting",
	StateRunning:  "running",
	StateStopping: "stopping",
	StateBackoff:  "backoff",
	StateEnded:    "ended",
}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// live reports whether the instance has, or is about to have, a process.
func (s State) live() bool {
	return s == StateStarting || s == StateRunning || s == StateStopping
}

// Outcome says how an instance that ended for good ended.
type Outcome uint8

// The outcomes.
const (
	// OutcomeNone: the instance has not ended.
	OutcomeNone Outcome = iota
	// OutcomeFinished: it exited with status 0 and its policy does not
	// restart it.
	OutcomeFinished
	// OutcomeStopped: mage-run stopped it: the tree was shutting down, or
	// its parent ended.
	OutcomeStopped
	// OutcomeFailed: it failed and its policy does not restart it, or it
	// had used up its restarts.
	OutcomeFailed
	// OutcomeNotStarted: its parent ended before it was started.
	OutcomeNotStarted
)

var outcomeNames = [...]string{
	OutcomeNone:       "",
	OutcomeFinished:   "finished",
	OutcomeStopped:    "stopped",
	OutcomeFailed:     "failed",
	OutcomeNotStarted: "not started",
}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}
