package supervisor

// Regression tests for defects a review found in the engine, each
// reproduced with real processes before it was fixed.

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/supervisor/output"
)

// watchBadState polls name for d and returns the first status that bad accepts.
func watchBadState(t *testing.T, s *Supervisor, name string, d time.Duration, bad func(st statusView) bool) (statusView, bool) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		sts, err := s.Status(name)
		if err == nil && len(sts) == 1 {
			v := statusView{State: sts[0].State.String(), PID: sts[0].PID, Restarts: sts[0].Restarts, Reason: sts[0].Reason}
			if bad(v) {
				return v, true
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return statusView{}, false
}

type statusView struct {
	State    string
	PID      int
	Restarts int
	Reason   string
}

// s6-supervise closes the notification pipe on EOF and leaves the service up,
// never ready (handle_notifyfd); so does corral. s6-notifyoncheck's poller
// giving up after -n tries closes the last writer: the same EOF.
func TestNotifyFDClosedLeavesServiceUp(t *testing.T) {
	s, _ := runSupervisor(t, map[string]string{
		"app": "command = \"exec 3>&-; exec sleep 1000\"\n[ready]\nnotify_fd = 3\ntimeout = \"1h\"\n",
	})
	if v, bad := watchBadState(t, s, "app", 2*time.Second, func(v statusView) bool { return v.Restarts > 0 || v.State == "BACKOFF" }); bad {
		t.Fatalf("killed for closing its notification fd: %+v", v)
	}
}

// A service added by an update with stdout_to naming a service that already
// runs: the reader, which read /dev/null, restarts to read the pipe.
func TestStdoutToAddedLaterRestartsReader(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "got")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name+".toml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("logger", "command = \"while :; do cat >> "+out+"; sleep 0.1; done\"\nstop_timeout = \"1s\"\n")
	s, _ := runSupervisorIn(t, dir)
	waitFor(t, s, "logger", control.Running)
	write("app", "command = \"echo hello; exec sleep 1000\"\nstdout_to = \"logger\"\n")
	if _, err := s.Update(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s, "app", control.Running)
	time.Sleep(500 * time.Millisecond)
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "hello") {
		t.Fatalf("logger got %q: the app's stdout went into a pipe the logger does not read", b)
	}
}

// A start while the service is going down (s6-svc -d, then -u: "want up")
// starts it again once it is down.
func TestStartWhileStoppingStartsAgain(t *testing.T) {
	s, _ := runSupervisor(t, map[string]string{
		"app": "command = '''trap 'sleep 0.5; exit 0' TERM; while :; do sleep 0.05; done'''\n",
	})
	waitFor(t, s, "app", control.Running)
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(context.Background(), "app") }() // s6-svc -d
	waitFor(t, s, "app", control.Stopping)
	err := s.Start(context.Background(), "app") // s6-svc -u
	t.Logf("Start while stopping: %v", err)
	<-stopped
	time.Sleep(300 * time.Millisecond)
	sts, _ := s.Status("app")
	if sts[0].State != control.Running && sts[0].State != control.Starting {
		t.Fatalf("after -d then -u the service is %s", sts[0].State)
	}
}

// A dependency failing while an earlier one is still starting is noticed at
// once, not at the next 5 s note.
func TestLaterDependencyFailureNoticedAtOnce(t *testing.T) {
	s, _ := runSupervisor(t, map[string]string{
		"a": "command = \"sleep 1000\"\n[ready]\ntcp = \"127.0.0.1:1\"\ntimeout = \"1h\"\ninterval = \"1h\"\n",
		"b": "type = \"oneshot\"\ncommand = \"sleep 0.3; exit 1\"\n",
		"c": "command = \"sleep 1000\"\nafter = [\"a\", \"b\"]\n",
	})
	waitFor(t, s, "b", control.Fatal)
	t0 := time.Now()
	waitFor(t, s, "c", control.Fatal)
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("c noticed b's failure %s late", d.Round(time.Millisecond))
	}
}

// At shutdown the logger of a stdout_to pipe drains it to the end of file
// once its writer is gone, as s6's loggers do: the writer's last lines are
// kept.
func TestLoggerDrainsAtShutdown(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "got")
	s, stop := runSupervisor(t, map[string]string{
		"app":    "command = '''trap 'i=0; while [ $$i -lt 3000 ]; do echo line$$i; i=$$((i+1)); done; exit 0' TERM; while :; do sleep 0.05; done'''\nstdout_to = \"logger\"\n",
		"logger": "command = '''while read l; do echo \"$$l\" >> " + out + "; done'''\n",
	})
	waitFor(t, s, "app", control.Running)
	waitFor(t, s, "logger", control.Running)
	stop()
	b, _ := os.ReadFile(out)
	n := strings.Count(string(b), "\n")
	if n != 3000 {
		t.Fatalf("logger wrote %d of the 3000 lines the app printed while stopping", n)
	}
}

// A SIGTERM that arrives while a live update is stopping a slow service
// reaches the main command at once, not after the update's stops.
func TestShutdownDoesNotWaitForUpdate(t *testing.T) {
	dir := t.TempDir()
	mark := filepath.Join(dir, "main-got-term")
	write := func(body string) {
		if err := os.WriteFile(filepath.Join(dir, "slow.toml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("command = '''trap '' TERM; while :; do sleep 0.05; done'''\nstop_timeout = \"3s\"\n")
	sigc := make(chan os.Signal, 1)
	s, err := New(Options{
		ServicesDir: dir,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Console:     output.NewConsole(io.Discard, io.Discard),
		WatchQuiet:  -1,
		Signals:     sigc,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		done <- s.Run(context.Background(), []string{"sh", "-c", "trap 'touch " + mark + "; exit 5' TERM; while :; do sleep 0.05; done"})
	}()
	waitFor(t, s, "slow", control.Running)
	time.Sleep(300 * time.Millisecond) // the main command runs
	write("command = '''trap '' TERM; while :; do sleep 0.06; done'''\nstop_timeout = \"3s\"\n")
	go s.Update(context.Background())
	waitFor(t, s, "slow", control.Stopping)
	t0 := time.Now()
	sigc <- syscall.SIGTERM
	for {
		if _, err := os.Stat(mark); err == nil {
			break
		}
		if time.Since(t0) > 10*time.Second {
			t.Fatal("main never got SIGTERM")
		}
		time.Sleep(5 * time.Millisecond)
	}
	d := time.Since(t0)
	code := <-done
	if d > time.Second {
		t.Fatalf("the main command got SIGTERM %s after corral did (exit %d)", d.Round(time.Millisecond), code)
	}
}
