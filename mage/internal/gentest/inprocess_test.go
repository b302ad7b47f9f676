package gentest_test

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"reflect"
	"testing"

	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
	"github.com/mage-ipc/mage/mage/internal/gentest/everything"
	"github.com/mage-ipc/mage/mage/internal/gentest/seed"
)

// bindScalars serves a fresh scalarsImpl and returns a remote of it.
func bindScalars(t *testing.T) (*everything.ScalarsRemote, *scalarsImpl, *bindings.Receiver) {
	t.Helper()
	a, b := mage.CreatePipe()
	impl := newScalars()
	rcv := everything.BindScalars(b, impl)
	remote := everything.NewScalarsRemote(a)
	t.Cleanup(func() {
		_ = remote.Close()
		_ = rcv.Close()
	})
	return remote, impl, rcv
}

func TestScalars(t *testing.T) {
	ctx := testContext(t)
	remote, impl, _ := bindScalars(t)

	cases := []setArgs{
		{false, 0, 0, 0, 0},
		{true, math.MaxInt32, math.MaxInt64, math.Inf(1), 255},
		{true, math.MinInt32, math.MinInt64, -math.SmallestNonzeroFloat64, 'x'},
		{false, -1, -1, math.NaN(), 0x80},
	}
	for _, c := range cases {
		if err := remote.Set(c.b, c.i, c.l, c.d, c.c); err != nil {
			t.Fatalf("Set: %v", err)
		}
		b, i, l, d, ch, err := remote.Echo(ctx, c.b, c.i, c.l, c.d, c.c)
		if err != nil {
			t.Fatalf("Echo: %v", err)
		}
		got := setArgs{b, i, l, d, ch}
		if !sameScalars(got, c) {
			t.Errorf("Echo(%v) = %v", c, got)
		}
	}
	for _, c := range cases {
		if got := <-impl.sets; !sameScalars(got, c) {
			t.Errorf("Set(%v) arrived as %v", c, got)
		}
	}
	if err := remote.Nothing(ctx); err != nil {
		t.Errorf("Nothing: %v", err)
	}
}

func sameScalars(a, b setArgs) bool {
	return a.b == b.b && a.i == b.i && a.l == b.l && a.c == b.c && math.Float64bits(a.d) == math.Float64bits(b.d)
}

func TestRemoteError(t *testing.T) {
	ctx := testContext(t)
	remote, _, rcv := bindScalars(t)
	n, err := remote.Fail(ctx, "no can do")
	var re *bindings.RemoteError
	if !errors.As(err, &re) || re.Message != "no can do" || re.Method != "mage.test.everything.Scalars.Fail" {
		t.Fatalf("Fail = %d, %v; want a *bindings.RemoteError", n, err)
	}
	// An implementation's error is an answer, not a broken pipe.
	if _, _, _, _, _, err := remote.Echo(ctx, true, 1, 2, 3, 4); err != nil {
		t.Fatalf("Echo after Fail: %v", err)
	}
	if err := rcv.Err(); err != nil {
		t.Fatalf("receiver stopped: %v", err)
	}
}

// TestOrderOneAtATime checks that a receiver delivers in order and never
// runs two methods at once, even with many senders.
func TestOrderOneAtATime(t *testing.T) {
	ctx := testContext(t)
	remote, impl, _ := bindScalars(t)
	const n = 2000
	done := make(chan error, 1)
	go func() {
		// A second goroutine calling methods with replies concurrently.
		for i := 0; i < 200; i++ {
			if _, _, _, _, _, err := remote.Echo(ctx, true, int32(i), 0, 0, 0); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < n; i++ {
		if err := remote.Set(false, int32(i), 0, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		if got := <-impl.sets; got.i != int32(i) {
			t.Fatalf("message %d arrived as %d", i, got.i)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if impl.overlap.Load() {
		t.Fatal("the receiver ran two methods at once")
	}
}

// sendMany makes n one-way calls from another goroutine and fails the test
// if they do not all return before ctx ends: a one-way call must never
// wait for the peer.
func sendMany(t *testing.T, ctx context.Context, remote *everything.ScalarsRemote, n int) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := remote.Set(true, int32(i), 0, 0, 0); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Set: %v", err)
		}
	case <-ctx.Done():
		t.Fatalf("%d one-way calls did not return: Set blocks on the peer", n)
	}
}

// TestOneWayNeverBlocks: one-way calls return while the peer reads
// nothing, and while its implementation is stuck in a method.
func TestOneWayNeverBlocks(t *testing.T) {
	ctx := testContext(t)

	// Nobody reads the other end.
	a, b := mage.CreatePipe()
	defer b.Close()
	remote := everything.NewScalarsRemote(a)
	defer remote.Close()
	sendMany(t, ctx, remote, 20000)

	// The implementation is busy in a method with a reply.
	remote, impl, _ := bindScalars(t)
	impl.block = make(chan struct{})
	impl.entered = make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() { errc <- remote.Nothing(ctx) }()
	<-impl.entered
	sendMany(t, ctx, remote, 20000)
	if n := len(impl.sets); n != 0 {
		t.Fatalf("%d Sets ran while Nothing was running", n)
	}
	close(impl.block)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// Once it is free, the queued calls arrive, in order.
	for i := 0; i < 20000; i++ {
		if got := <-impl.sets; got.i != int32(i) {
			t.Fatalf("Set %d arrived as %d", i, got.i)
		}
	}
}

func TestVariable(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	rcv := everything.BindVariable(b, &variableImpl{})
	defer rcv.Close()
	remote := everything.NewVariableRemote(a)
	defer remote.Close()

	cases := []variableArgs{
		{},
		{s: "héllo, 世界", b: []byte{0, 1, 2, 255}, ints: []int32{1, -2, math.MaxInt32}, nested: [][]string{{"a", ""}, nil, {"b"}}, flags: []bool{true, false, true}},
		{s: "\xff\xfe not utf-8", b: make([]byte, 70000), nested: [][]string{{string(make([]byte, 1000))}}},
	}
	for _, c := range cases {
		s, bs, ints, nested, flags, err := remote.Echo(ctx, c.s, c.b, c.ints, c.nested, c.flags)
		if err != nil {
			t.Fatalf("Echo: %v", err)
		}
		got := variableArgs{s, bs, ints, nested, flags}
		if !reflect.DeepEqual(got, normalize(c)) {
			t.Errorf("Echo(%.40v) = %.40v", c, got)
		}
	}
	total, err := remote.Sum(ctx, []int64{1, 2, 3, math.MaxInt64 - 6})
	if err != nil || total != math.MaxInt64 {
		t.Errorf("Sum = %d, %v", total, err)
	}
}

// normalize maps empty slices to nil, as they decode.
func normalize(v variableArgs) variableArgs {
	if len(v.b) == 0 {
		v.b = nil
	}
	if len(v.ints) == 0 {
		v.ints = nil
	}
	if len(v.flags) == 0 {
		v.flags = nil
	}
	if len(v.nested) == 0 {
		v.nested = nil
	}
	for i := range v.nested {
		if len(v.nested[i]) == 0 {
			v.nested[i] = nil
		}
	}
	return v
}

func TestKeywords(t *testing.T) {
	ctx := testContext(t)
	a, b := mage.CreatePipe()
	rcv := everything.BindKeywords(b, keywordsImpl{})
	defer rcv.Close()
	remote := everything.NewKeywordsRemote(a)
	defer remote.Close()
	x, y, z, err := remote.Go(ctx, 1, "abc", true, 0, 'e', 2, 3, 4, 5)
	if err != nil || x != 4 || y != 5 || z != 9 {
		t.Fatalf("Go = %d, %d, %d, %v", x, y, z, err)
	}

	// Parameters named like the package-level names the method bodies use
	// (ObserverPendingRemote, NewObserverPendingRemote) compile and work.
	obs := newObserver()
	var pending []everything.ObserverPendingRemote
	for i := 0; i < 2; i++ {
		r, recv := everything.NewObserverPipe()
		pending = append(pending, r)
		defer recv.Bind(obs).Close()
	}
	back, n, err := remote.Shadow(ctx, pending, 40)
	if err != nil || n != 42 || !back.IsValid() {
		t.Fatalf("Shadow = %v, %d, %v", back, n, err)
	}
	o := back.Bind()
	defer o.Close()
	if err := o.Notify("shadowed", 1); err != nil {
		t.Fatal(err)
	}
	if ev := <-obs.seen; ev != "shadowed" {
		t.Errorf("event %q", ev)
	}
}

// bindCarrier serves a carrierImpl and returns a remote of it.
func bindCarrier(t *testing.T) (*everything.CarrierRemote, *carrierImpl) {
	t.Helper()
	a, b := mage.CreatePipe()
	impl := newCarrier()
	rcv := everything.BindCarrier(b, impl)
	remote := everything.NewCarrierRemote(a)
	t.Cleanup(func() {
		_ = remote.Close()
		_ = rcv.Close()
		impl.Close()
	})
	return remote, impl
}

func TestPipesOverMethods(t *testing.T) {
	ctx := testContext(t)
	remote, impl := bindCarrier(t)

	// A raw pipe: send one end, then talk over it.
	mine, theirs := mage.CreatePipe()
	defer mine.Close()
	if err := remote.TakePipe(theirs, "raw"); err != nil {
		t.Fatal(err)
	}
	if theirs.WriteMessage(&mage.Message{}) == nil {
		t.Error("a pipe end sent in a message is still writable by the sender")
	}
	tp := <-impl.pipes
	if tp.tag != "raw" {
		t.Errorf("tag = %q", tp.tag)
	}
	if err := tp.p.WriteMessage(&mage.Message{Payload: []byte("over the moved end")}); err != nil {
		t.Fatal(err)
	}
	m := readOne(t, ctx, mine)
	if string(m.Payload) != "over the moved end" {
		t.Errorf("read %q", m.Payload)
	}
	_ = tp.p.Close()

	// A pipe that goes there and back.
	x, y := mage.CreatePipe()
	defer y.Close()
	back, err := remote.PassPipe(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.WriteMessage(&mage.Message{Payload: []byte("round trip")}); err != nil {
		t.Fatal(err)
	}
	if m := readOne(t, ctx, y); string(m.Payload) != "round trip" {
		t.Errorf("read %q", m.Payload)
	}
	_ = back.Close()

	// An invalid pipe travels as "no pipe".
	none, err := remote.PassPipe(ctx, mage.MessagePipe{})
	if err != nil || none.IsValid() {
		t.Errorf("PassPipe(invalid) = %v, %v", none, err)
	}
}

func readOne(t *testing.T, ctx context.Context, p mage.MessagePipe) *mage.Message {
	t.Helper()
	for {
		m, err := p.ReadMessage()
		if err == nil {
			return m
		}
		if !errors.Is(err, mage.ErrNoMessage) {
			t.Fatalf("ReadMessage: %v", err)
		}
		select {
		case <-p.Ready():
		case <-ctx.Done():
			t.Fatal("no message")
		}
	}
}

func TestTypedPipes(t *testing.T) {
	ctx := testContext(t)
	remote, _ := bindCarrier(t)

	// pending_remote<Observer>: the carrier binds it and calls us.
	obs := newObserver()
	obsRemote, obsReceiver := everything.NewObserverPipe()
	obsRcv := obsReceiver.Bind(obs)
	defer obsRcv.Close()
	if err := remote.Observe(obsRemote); err != nil {
		t.Fatal(err)
	}
	if ev := <-obs.seen; ev != "observed" {
		t.Errorf("event %q", ev)
	}

	// pending_receiver<Scalars>: the carrier serves it, we call it.
	sRemote, sReceiver := everything.NewScalarsPipe()
	if err := remote.Serve(sReceiver); err != nil {
		t.Fatal(err)
	}
	s := sRemote.Bind()
	defer s.Close()
	if _, i, _, _, _, err := s.Echo(ctx, false, 42, 0, 0, 0); err != nil || i != 42 {
		t.Fatalf("Echo over a served pending_receiver = %d, %v", i, err)
	}

	// pending_remote<Scalars> as a result.
	made, err := remote.MakeScalars(ctx)
	if err != nil || !made.IsValid() {
		t.Fatalf("MakeScalars = %v, %v", made, err)
	}
	s2 := made.Bind()
	defer s2.Close()
	if err := s2.Nothing(ctx); err != nil {
		t.Fatal(err)
	}

	// Arrays of typed pipes and of pipes, and an absent handle.
	var pending []everything.ObserverPendingRemote
	for i := 0; i < 3; i++ {
		r, recv := everything.NewObserverPipe()
		pending = append(pending, r)
		defer recv.Bind(obs).Close()
	}
	p1, p2 := mage.CreatePipe()
	defer p2.Close()
	nObs, nPipes, had, err := remote.Mixed(ctx, pending, []mage.MessagePipe{p1}, nil)
	if err != nil || nObs != 3 || nPipes != 1 || had {
		t.Fatalf("Mixed = %d, %d, %v, %v", nObs, nPipes, had, err)
	}
	for i := 0; i < 3; i++ {
		if ev := <-obs.seen; ev != "mixed" {
			t.Errorf("event %q", ev)
		}
	}
}

func TestHandles(t *testing.T) {
	ctx := testContext(t)
	remote, _ := bindCarrier(t)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	extra1, extra2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	back, count, err := remote.Files(ctx, w, []*os.File{extra1, extra2}, "through a real fd")
	if err != nil {
		t.Fatal(err)
	}
	if count != 3 {
		t.Errorf("count = %d", count)
	}
	got, err := io.ReadAll(r) // EOF once every copy of w is closed
	if err != nil || string(got) != "through a real fd" {
		t.Errorf("read %q, %v", got, err)
	}
	b, err := io.ReadAll(back)
	_ = back.Close()
	if err != nil || len(b) != 1 || b[0] != 3 {
		t.Errorf("returned file held %v, %v", b, err)
	}

	// A file passed twice is refused before anything is sent, and
	// consumed.
	f, g, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, _, err := remote.Files(ctx, f, []*os.File{f}, ""); !errors.Is(err, bindings.ErrEncode) {
		t.Errorf("Files(f, [f]) = %v, want ErrEncode", err)
	}
}

// checkNested sends nested arrays of files and pipes and checks that every
// file comes back, in reverse order, still the same open file: each is the
// read end of an os.Pipe whose write end we keep.
func checkNested(t *testing.T, ctx context.Context, remote *everything.CarrierRemote) {
	t.Helper()
	var reads [3]*os.File
	var writes [3]*os.File
	for i := range reads {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		reads[i], writes[i] = r, w
		defer w.Close()
	}
	var ours []mage.MessagePipe
	var theirs [3]mage.MessagePipe
	for i := range theirs {
		a, b := mage.CreatePipe()
		ours = append(ours, a)
		theirs[i] = b
	}
	defer func() {
		for _, p := range ours {
			_ = p.Close()
		}
	}()
	files := [][]*os.File{{reads[0], reads[1]}, nil, {reads[2]}}
	pipes := [][]mage.MessagePipe{{theirs[0]}, {theirs[1], theirs[2]}}
	back, n, err := remote.Nested(ctx, files, pipes)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(back) != 1 || len(back[0]) != 3 {
		t.Fatalf("Nested = %v, %d", back, n)
	}
	for i, w := range writes {
		if _, err := w.Write([]byte{byte('a' + i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range back[0] {
		b := make([]byte, 1)
		_, err := io.ReadFull(f, b)
		_ = f.Close()
		if want := byte('a' + 2 - i); err != nil || b[0] != want {
			t.Errorf("file %d read %q, %v; want %q", i, b, err, want)
		}
	}
}

func TestNestedAttachments(t *testing.T) {
	ctx := testContext(t)
	remote, _ := bindCarrier(t)
	checkNested(t, ctx, remote)
}

func TestSeedInterfaces(t *testing.T) {
	ctx := testContext(t)
	parent := &parentImpl{nav: make(chan string, 1), files: make(chan string, 1), children: make(chan mage.MessagePipe, 1)}
	a, b := mage.CreatePipe()
	rcv := seed.BindParentProcess(b, parent)
	defer rcv.Close()
	remote := seed.NewParentProcessRemote(a)
	defer remote.Close()

	if err := remote.NavigateToURL("https://example.com", 3); err != nil {
		t.Fatal(err)
	}
	if err := remote.OpenFile("/tmp/x", true); err != nil {
		t.Fatal(err)
	}
	child, childEnd := mage.CreatePipe()
	if err := remote.BindChildProcessRemote(childEnd); err != nil {
		t.Fatal(err)
	}
	if got := <-parent.nav; got != "https://example.com 3" {
		t.Errorf("NavigateToURL: %q", got)
	}
	if got := <-parent.files; got != "/tmp/x true" {
		t.Errorf("OpenFile: %q", got)
	}
	// The parent uses the pipe it was given as a NetworkProcess remote.
	net := seed.NewNetworkProcessRemote(<-parent.children)
	defer net.Close()
	fetched := make(chan string, 1)
	netRcv := seed.BindNetworkProcess(child, fetchFunc(func(url string) { fetched <- url }))
	defer netRcv.Close()
	if err := net.FetchURL("https://google.com"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-fetched:
		if got != "https://google.com" {
			t.Errorf("FetchURL: %q", got)
		}
	case <-ctx.Done():
		t.Fatal("FetchURL never arrived")
	}
}

type parentImpl struct {
	nav, files chan string
	children   chan mage.MessagePipe
}

func (p *parentImpl) NavigateToURL(url string, delay int32) {
	p.nav <- url + " " + string(rune('0'+delay))
}

func (p *parentImpl) OpenFile(name string, truncate bool) {
	s := name + " false"
	if truncate {
		s = name + " true"
	}
	p.files <- s
}

func (p *parentImpl) BindChildProcessRemote(child mage.MessagePipe) { p.children <- child }

type fetchFunc func(string)

func (f fetchFunc) FetchURL(url string) { f(url) }

func TestRegistry(t *testing.T) {
	d, ok := bindings.LookupInterface(everything.ScalarsFingerprint)
	if !ok || d != everything.ScalarsDescriptor || d.Name != "mage.test.everything.Scalars" {
		t.Fatalf("LookupInterface = %v, %v", d, ok)
	}
	if got := bindings.MethodName(everything.ScalarsFingerprint, 2); got != "mage.test.everything.Scalars.Echo" {
		t.Errorf("MethodName = %q", got)
	}
	if got := bindings.MethodName(seed.NetworkProcessFingerprint, 99); got != "NetworkProcess.#99" {
		t.Errorf("MethodName of an unknown ordinal = %q", got)
	}
	if got := bindings.MethodName(0, 1); got != "interface 0x00000000 method 1" {
		t.Errorf("MethodName of an unknown interface = %q", got)
	}
}
