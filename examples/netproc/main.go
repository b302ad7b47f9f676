// Command netproc is the seed README's example written against mage for Go:
// a main process that starts a network process and tells it what to fetch.
//
// Run it with
//
//	go run ./examples/netproc
//
// The same binary plays both parts: started normally it is the main
// process; started with an invitation in its environment it is the network
// process. The main process serves a few pages on a loopback HTTP server,
// so the fetches are real. The launcher starts and supervises the network
// process; the invitation is made first so that calls can be queued before
// the process exists.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/mage-ipc/mage/examples/netproc/netprocmagen"
	"github.com/mage-ipc/mage/invitation"
	"github.com/mage-ipc/mage/launcher"
	"github.com/mage-ipc/mage/mage"
	"github.com/mage-ipc/mage/mage/bindings"
)

func main() {
	os.Exit(run(os.Stdout, os.Stderr))
}

func run(stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	acc, err := invitation.Accept(ctx)
	switch {
	case errors.Is(err, invitation.ErrNotInvited):
		err = mainProcess(ctx, stdout, stderr)
	case err == nil:
		err = networkProcess(acc, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "netproc:", err)
		return 1
	}
	return 0
}

// mainProcess starts the network process, sends it a one-way FetchURL and a
// Fetch that waits for its reply, and then closes the pipe, which ends it.
func mainProcess(ctx context.Context, stdout, stderr io.Writer) error {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, strings.Repeat("mage ", 100))
	}))
	defer srv.Close()

	self, err := os.Executable()
	if err != nil {
		return err
	}
	inv := invitation.New(nil)
	pipe, err := inv.Attach("net")
	if err != nil {
		return err
	}
	network := netprocmagen.NewNetworkProcessRemote(pipe)
	// Calls made before the child even exists are queued, not lost.
	if err := network.FetchURL(srv.URL + "/early"); err != nil {
		return err
	}

	child, err := launcher.Start(ctx, exec.Command(self), launcher.Options{
		Name:       "netproc",
		Invitation: inv,
		// The network process logs to its stderr; re-emit its lines.
		CaptureStderr: true,
		Logger:        hclog.New(&hclog.LoggerOptions{Name: "main", Output: stderr}),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "main: started network process %d\n", child.Pid())

	for _, path := range []string{"/index.html", "/missing"} {
		status, length, err := network.Fetch(ctx, srv.URL+path)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "main: network process fetched %s: status %d, %d bytes\n", path, status, length)
	}
	// Closing our end tells the network process we are done.
	_ = network.Close()
	if exit := child.Wait(); !exit.Success() {
		return fmt.Errorf("network process: %s", exit)
	}
	fmt.Fprintln(stdout, "main: network process exited cleanly")
	return nil
}

// networkProcess serves NetworkProcess on the invitation's "net" pipe until
// the main process closes it.
func networkProcess(acc *invitation.Accepted, log io.Writer) error {
	pipe, ok := acc.Pipe("net")
	if !ok {
		return errors.New("the invitation has no pipe \"net\"")
	}
	impl := &fetcher{log: log, client: &http.Client{Timeout: 10 * time.Second}}
	receiver := netprocmagen.BindNetworkProcess(pipe, impl)
	<-receiver.Done()
	_ = mage.DefaultNode().Close()
	if err := receiver.Err(); err != nil && !errors.Is(err, mage.ErrPeerClosed) && !errors.Is(err, bindings.ErrDisconnected) {
		return err
	}
	return nil
}

// fetcher implements netprocmagen.NetworkProcess.
type fetcher struct {
	log    io.Writer
	client *http.Client
}

func (f *fetcher) FetchURL(url string) {
	status, length, err := f.fetch(context.Background(), url)
	if err != nil {
		fmt.Fprintf(f.log, "network: FetchURL %s: %v\n", url, err)
		return
	}
	fmt.Fprintf(f.log, "network: FetchURL %s: status %d, %d bytes\n", url, status, length)
}

func (f *fetcher) Fetch(ctx context.Context, url string) (int32, int64, error) {
	return f.fetch(ctx, url)
}

func (f *fetcher) fetch(ctx context.Context, url string) (int32, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	return int32(resp.StatusCode), n, err
}
