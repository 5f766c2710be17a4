package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the real main when the test binary is re-executed by
// startWebapp, so the process tests need no separate build.
func TestMain(m *testing.M) {
	if os.Getenv("WEBAPP_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// webapp is the app running as a child process.
type webapp struct {
	cmd   *exec.Cmd
	url   string
	lines chan string // stdout, line by line; closed at EOF
}

// startWebapp runs the app with env on a free loopback port and waits for
// its "listening" line.
func startWebapp(t *testing.T, env ...string) *webapp {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"WEBAPP_TEST_MAIN=1", "PORT=0"}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	w := &webapp{cmd: cmd, lines: make(chan string, 1000)}
	go func() {
		defer close(w.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
	}()
	port := regexp.MustCompile(`msg=listening addr=\S*:(\d+) `)
	deadline := time.After(10 * time.Second)
	for w.url == "" {
		select {
		case l, ok := <-w.lines:
			if !ok {
				t.Fatal("webapp exited before listening")
			}
			if m := port.FindStringSubmatch(l); m != nil {
				w.url = "http://127.0.0.1:" + m[1]
			}
		case <-deadline:
			t.Fatal("webapp did not log its listening address within 10s")
		}
	}
	return w
}

// get returns the status and body of GET url+path.
func (w *webapp) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(w.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wait waits for the process to exit and returns its exit code and the
// rest of its output.
func (w *webapp) wait(t *testing.T) (int, string) {
	t.Helper()
	var rest strings.Builder
	for l := range w.lines {
		rest.WriteString(l + "\n")
	}
	err := w.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, rest.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), rest.String()
	}
	t.Fatal(err)
	return -1, ""
}

func TestSIGTERMDrainsThenExitsZero(t *testing.T) {
	w := startWebapp(t, "NODE_NAME=drainer", "DRAIN_DELAY=2s")
	if code, body := w.get(t, "/"); code != 200 || !strings.HasPrefix(body, "node=drainer ") {
		t.Fatalf("GET / = %d %q, want 200 node=drainer ...", code, body)
	}
	if code, _ := w.get(t, "/health"); code != 200 {
		t.Fatalf("GET /health = %d before SIGTERM, want 200", code)
	}
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// During the drain delay, /health fails and / still answers.
	var health int
	for range 100 {
		if health, _ = w.get(t, "/health"); health == 503 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if health != 503 {
		t.Fatalf("GET /health = %d after SIGTERM, want 503", health)
	}
	if code, body := w.get(t, "/"); code != 200 || !strings.Contains(body, "requests=2") {
		t.Errorf("GET / while draining = %d %q, want 200 with requests=2", code, body)
	}
	code, out := w.wait(t)
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; output:\n%s", code, out)
	}
	if !strings.Contains(out, "msg=stopped requests=2") {
		t.Errorf("no clean stop line in output:\n%s", out)
	}
}

// TestSIGTERMDrainEndsWhenQuiet: with DRAIN_QUIET the drain ends once
// requests stop coming, not at DRAIN_DELAY (a minute here).
func TestSIGTERMDrainEndsWhenQuiet(t *testing.T) {
	w := startWebapp(t, "NODE_NAME=quiet", "DRAIN_DELAY=1m", "DRAIN_QUIET=100ms")
	w.get(t, "/")
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, out := w.wait(t)
	if code != 0 || !strings.Contains(out, "msg=drained") || !strings.Contains(out, "quiet=true") {
		t.Errorf("exit code %d, want 0 after a drain ended by quiet; output:\n%s", code, out)
	}
}

func TestSIGINTWithoutDrainExitsZero(t *testing.T) {
	w := startWebapp(t, "NODE_NAME=quick")
	w.get(t, "/")
	if err := w.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code, out := w.wait(t); code != 0 {
		t.Errorf("exit code %d after SIGINT, want 0; output:\n%s", code, out)
	}
}

func TestBadEnvironmentExitsTwo(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WEBAPP_TEST_MAIN=1", "PORT=http")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("err = %v, want exit code 2; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), `parsing PORT \"http\"`) {
		t.Errorf("output does not name the bad PORT:\n%s", out)
	}
}
