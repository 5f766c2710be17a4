package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
)

// limitedServer runs Serve over a fake controller with opts.
func limitedServer(t *testing.T, opts Options, svcs ...control.ServiceStatus) (*fixture, *limiterProbe) {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "control.sock")
	ln, err := Listen(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	fake := newFake(filepath.Join(dir, "log"), svcs...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, fake, opts) }()
	t.Cleanup(func() {
		cancel()
		<-done
		ln.Close()
	})
	return &fixture{fake: fake, client: control.NewClient(sock), sock: sock, logDir: filepath.Join(dir, "log")}, &limiterProbe{sock: sock}
}

// limiterProbe opens raw connections to a socket.
type limiterProbe struct{ sock string }

// dial opens a connection that sends nothing.
func (p *limiterProbe) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", p.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// request sends GET /v1/version on c and reads the answer, keeping c open.
func request(c net.Conn) error {
	if _, err := io.WriteString(c, "GET /v1/version HTTP/1.1\r\nHost: corral\r\n\r\n"); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

// closedByServer waits (up to a generous deadline: synchronisation, not a
// timing assertion) for the server to close c, and reports whether it did.
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(fmtIfErr(err), "connection reset")
}

func fmtIfErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestConnLimitMakesRoomFromIdleConnections: at MaxConns, the connection
// waiting longest for a request is closed to make room, so the API keeps
// answering a flood of idle connections.
func TestConnLimitMakesRoomFromIdleConnections(t *testing.T) {
	f, p := limitedServer(t, Options{MaxConns: 4, IdleTimeout: time.Hour}, svc("web", control.Running))
	var conns []net.Conn
	for i := range 8 {
		c := p.dial(t)
		if i%2 == 0 {
			if err := request(c); err != nil { // then kept alive, idle
				t.Fatalf("request on connection %d: %v", i, err)
			}
		}
		conns = append(conns, c)
	}
	if _, err := f.client.Status(context.Background()); err != nil {
		t.Fatalf("status with 8 idle connections and MaxConns 4: %v", err)
	}
	// Older ones were closed for the newer ones: with 9 connections made
	// and room for 4, at least 4 of the first 8 are gone. (Which ones
	// depends on when each was last answered or accepted: not asserted.)
	closed := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			closed++
		}
	}
	if closed < 4 {
		t.Errorf("%d of 8 idle connections closed, want at least 4 (MaxConns 4)", closed)
	}
}

// TestConnLimitRefusesWhenAllBusy: when every connection is busy (here,
// following a log), a new one is closed at once rather than queued.
func TestConnLimitRefusesWhenAllBusy(t *testing.T) {
	f, p := limitedServer(t, Options{MaxConns: 3, IdleTimeout: time.Hour}, svc("web", control.Running))
	writeLog(t, filepath.Join(f.logDir, "web", "current"), "hello\n")
	ctx, cancel := context.WithCancel(context.Background())
	var follows []chan error
	for range 3 {
		ch := make(chan error, 1)
		follows = append(follows, ch)
		r, w := io.Pipe()
		go func() { ch <- f.client.Tail(ctx, control.TailRequest{Name: "web", Follow: true}, w); w.Close() }()
		if line, err := bufio.NewReader(r).ReadString('\n'); err != nil || line != "hello\n" {
			t.Fatalf("follow: %q, %v", line, err)
		}
		go io.Copy(io.Discard, r)
	}
	c := p.dial(t)
	if !closedByServer(c) {
		t.Error("a connection beyond MaxConns, all busy, was not closed")
	}
	if _, err := f.client.Status(context.Background()); err == nil {
		t.Error("status answered with every connection busy")
	}
	cancel()
	for _, ch := range follows {
		<-ch
	}
	// Room again once the follows end.
	waitUntil(t, "status answers again", func() bool {
		_, err := f.client.Status(context.Background())
		return err == nil
	})
}

// TestIdleConnectionsClosed: connections that never send a request, and
// kept-alive ones, are closed after IdleTimeout.
func TestIdleConnectionsClosed(t *testing.T) {
	_, p := limitedServer(t, Options{IdleTimeout: 200 * time.Millisecond}, svc("web", control.Running))
	silent := p.dial(t)
	kept := p.dial(t)
	if err := request(kept); err != nil {
		t.Fatal(err)
	}
	if !closedByServer(silent) {
		t.Error("a connection that sent nothing is still open")
	}
	if !closedByServer(kept) {
		t.Error("a kept-alive idle connection is still open")
	}
}

// TestFDReserveRefuses: a connection that would leave fewer descriptors
// free than the reserve is refused.
func TestFDReserveRefuses(t *testing.T) {
	f, p := limitedServer(t, Options{FDReserve: 1 << 30}, svc("web", control.Running))
	if _, err := f.client.Status(context.Background()); err == nil {
		t.Error("status answered with no descriptors to spare")
	}
	if c := p.dial(t); !closedByServer(c) {
		t.Error("connection not closed with no descriptors to spare")
	}
	free, limit, ok := freeFDs()
	if !ok || free <= 0 || free >= limit {
		t.Errorf("freeFDs = %d of %d (%v)", free, limit, ok)
	}
}

// waitUntil polls cond until it holds, failing after a generous deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
