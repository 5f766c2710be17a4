package control

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corralhq/corral/test/testutil"
)

// flapFile is a service that exits after 0.2 s and is restarted at once,
// without limit.
const flapFile = `command = ["sh", "-c", "sleep 0.2; exit 1"]
max_restarts = 0
[backoff]
initial = "0s"
min = "50ms"
max = "100ms"
`

// TestIdleConnectionFlood opens 2,000 control connections to a corral
// limited to 512 file descriptors (issue 14, item 3), half of them after
// one request (kept alive), half silent, and holds them, while a service
// keeps restarting: corral stays far from its limit, the service goes on
// restarting without "too many open files", status answers, and every one
// of the connections is closed by corral (at once when it has no room, or
// after the idle timeout).
func TestIdleConnectionFlood(t *testing.T) {
	root := t.TempDir()
	c := &corral{t: t, dir: filepath.Join(root, "services.d"), sock: filepath.Join(root, "run", "control.sock"),
		logDir: filepath.Join(root, "log"), out: &testutil.Buffer{}, exited: make(chan struct{}),
		wrap: []string{"/bin/sh", "-c", `ulimit -n 512 && exec "$@"`, "sh"}}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, c.dir, map[string]string{"flap.toml": flapFile, "web.toml": sleepFile(1000)})
	c.start()
	pid := c.cmd.Process.Pid
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Max open files\s+512\s+512`).Match(limits) {
		t.Fatalf("corral's file limit is not 512:\n%s", limits)
	}
	restarts := func() int { return c.status()["flap"].Restarts }
	waitFor(t, "flap to restart", func() (bool, string) { return restarts() > 0, "" })
	before := restarts()

	const n = 2000
	var conns []net.Conn
	answered, unanswered, dialFailed := 0, 0, 0
	for i := range n {
		conn, err := net.Dial("unix", c.sock)
		if err != nil {
			dialFailed++
			continue
		}
		conns = append(conns, conn)
		// Requests stop at the first one left unanswered: a corral out of
		// descriptors would leave each waiting for 10 s.
		if i%2 == 0 && unanswered == 0 {
			var ne net.Error
			if err := versionRequest(conn); err == nil {
				answered++
			} else if errors.As(err, &ne) && ne.Timeout() {
				unanswered++
			}
		}
	}
	fds := countFDs(t, pid)
	t.Logf("%d connections opened (%d dials failed), %d of the %d requests answered (%d left unanswered); corral holds %d descriptors",
		len(conns), dialFailed, answered, n/2, unanswered, fds)
	if fds >= 512-64 {
		t.Errorf("corral holds %d descriptors of 512", fds)
	}
	if answered == 0 || unanswered > 0 {
		t.Errorf("%d requests answered, %d left unanswered during the flood", answered, unanswered)
	}

	// With the 2,000 held: status answers and flap keeps restarting.
	if r := c.ctl("status"); (r.code != 0 && r.code != 3) || !regexp.MustCompile(`(?m)^web +RUNNING`).MatchString(r.out) {
		t.Errorf("status during the flood: exit %d\n%s%s", r.code, r.out, r.err)
	}
	waitFor(t, "flap to restart 3 more times", func() (bool, string) {
		n := restarts()
		return n >= before+3, fmt.Sprintf("%d restarts (%d before)", n, before)
	})

	// Every connection is closed by corral.
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := 0
	for _, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
			_, err := io.Copy(io.Discard, conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				mu.Lock()
				open++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if open > 0 {
		t.Errorf("%d of %d connections still open after 60 s", open, len(conns))
	}
	if out := c.out.String(); strings.Contains(strings.ToLower(out), "too many open files") {
		t.Errorf("corral ran out of file descriptors:\n%s", out)
	}
	if r := c.ctl("status", "web"); r.code != 0 {
		t.Errorf("status after the flood: exit %d\n%s", r.code, r.out)
	}
}

// versionRequest sends GET /v1/version on conn and reads the answer,
// keeping conn open.
func versionRequest(conn net.Conn) error {
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	defer conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "GET /v1/version HTTP/1.1\r\nHost: corral\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
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

// countFDs counts the open descriptors of pid.
func countFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
