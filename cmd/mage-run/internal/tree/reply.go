package tree

import (
	"context"
	"errors"
	"sync"

	"github.com/mage-ipc/mage/mage"
)

// errTreeEnded fails a request that reached the tree after it ended.
var errTreeEnded = errors.New("mage-run: the tree has ended")

// reply carries the answer to a supervisor request from the loop to the
// goroutine serving the request. Either may give up first: a request
// whose caller went away (its context ended) releases the pipe of an
// answer that comes later, and an answer given first waits for it.
type reply struct {
	ch chan result

	// mu guards abandoned.
	mu        sync.Mutex
	abandoned bool
}

// result is an answer: a pipe and a name, or an error.
type result struct {
	name string
	pipe mage.MessagePipe
	err  error
}

func newReply() *reply { return &reply{ch: make(chan result, 1)} }

// give answers the request. Called once, by the loop.
func (r *reply) give(res result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.abandoned {
		_ = res.pipe.Close()
		return
	}
	r.ch <- res
}

// fail answers the request with err.
func (r *reply) fail(err error) { r.give(result{err: err}) }

// wait returns the answer, or ctx's error once the caller has gone, or
// errTreeEnded once the tree has ended.
func (r *reply) wait(ctx context.Context, done <-chan struct{}) result {
	select {
	case res := <-r.ch:
		return res
	case <-ctx.Done():
	case <-done:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.abandoned = true
	select {
	case res := <-r.ch:
		// Answered just now: the answer is still the caller's.
		return res
	default:
	}
	if ctx.Err() != nil {
		return result{err: ctx.Err()}
	}
	return result{err: errTreeEnded}
}
