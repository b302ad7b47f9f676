package ports

import "testing"

// TestPlainPairMakesNoRareState: the two ends of a pipe on one node that
// send both ways, one closing with messages still queued and the other
// draining them, never make the state only moved ports, proxies and
// vouching use; a port that moves does, on the node it left (the proxy)
// and on the node that adopted it.
func TestPlainPairMakesNoRareState(t *testing.T) {
	n := NewNode(Config{Name: testNodeName(0)})
	a, b := n.CreatePortPair()
	for range 3 {
		if err := n.SendMessage(a, Message{Body: 1}); err != nil {
			t.Fatal(err)
		}
		if err := n.SendMessage(b, Message{Body: 2}); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := n.GetMessage(a); !ok || err != nil {
			t.Fatalf("GetMessage: %v, %v", ok, err)
		}
	}
	for _, name := range []PortName{a, b} {
		if p := n.ports[name]; p.ext != nil {
			t.Fatalf("port %v of a plain pair made its rare state: %+v", name, *p.ext)
		}
	}
	if err := n.ClosePort(a); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, ok, err := n.GetMessage(b); !ok || err != nil {
			t.Fatalf("GetMessage after the close: %v, %v", ok, err)
		}
	}
	if st, err := n.Status(b); err != nil || !st.PeerClosed || st.Reason != ReasonPeerClosed {
		t.Fatalf("status %+v, %v; want the peer closed", st, err)
	}
	if p := n.ports[b]; p.ext != nil {
		t.Fatalf("the drained end made its rare state: %+v", *p.ext)
	}

	n1 := NewNode(Config{Name: testNodeName(1)})
	c, d := n.CreatePortPair()
	desc, err := n.MovePort(d, n1.Name())
	if err != nil {
		t.Fatal(err)
	}
	moved, err := n1.AdoptPort(n.Name(), desc)
	if err != nil {
		t.Fatal(err)
	}
	if p := n.ports[d]; p == nil || p.ext == nil || p.rare().target.Node != n1.Name() {
		t.Fatalf("the proxy left behind keeps no target: %+v", p)
	}
	if p := n1.ports[moved]; p.ext == nil || p.rare().adoptedFrom != n.Name() {
		t.Fatalf("the adopted port does not know where it came from: %+v", p)
	}
	if p := n.ports[c]; p.ext != nil {
		t.Fatalf("the end that stayed made its rare state: %+v", *p.ext)
	}
}
