package wake

import (
	"errors"
	"testing"
)

// TestPoolBoundsAndReleases: a Pool makes at most Max Bells, lends none
// while no one holds it, keeps what is given back while held and closes
// it when the last holder leaves, or when it is given back after that.
func TestPoolBoundsAndReleases(t *testing.T) {
	p := &Pool{Max: 2}
	if b := p.Get(); b != nil {
		t.Fatal("a Pool that no one holds lent a Bell")
	}
	p.Hold(1)
	a, b := p.Get(), p.Get()
	if a == nil || b == nil {
		t.Fatal("a held Pool lent no Bell under its Max")
	}
	if c := p.Get(); c != nil {
		t.Fatalf("a Pool of Max 2 lent a third Bell (%d made)", p.Made())
	}
	p.Put(a)
	if got := p.Get(); got != a {
		t.Fatal("a Bell given back was not lent again")
	}
	p.Put(a)
	p.Hold(-1) // a is free: closed now; b is in use
	if n := p.Made(); n != 1 {
		t.Fatalf("%d Bells after the last holder left with one in use, want 1", n)
	}
	if err := a.Wait(); err == nil {
		t.Fatal("a free Bell was not closed when the last holder left")
	}
	p.Put(b) // given back with no holder: closed
	if n := p.Made(); n != 0 {
		t.Fatalf("%d Bells left, want 0", n)
	}
	if err := b.Wait(); err == nil {
		t.Fatal("a Bell given back to a Pool no one holds was not closed")
	}
}

// TestPoolWithoutDescriptors: when no Bell can be made, Get says so with
// nil and nothing is counted.
func TestPoolWithoutDescriptors(t *testing.T) {
	p := &Pool{Max: 4, New: func() (*Bell, error) { return nil, errors.New("out of descriptors") }}
	p.Hold(1)
	defer p.Hold(-1)
	if b := p.Get(); b != nil || p.Made() != 0 {
		t.Fatalf("Get = %v with %d made, want nil and 0", b, p.Made())
	}
}
