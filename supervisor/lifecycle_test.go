package supervisor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/services"
	"github.com/corralhq/corral/supervisor/output"
)

// stubborn is a test plugin whose Reload and Stop never return on their own.
type stubborn struct {
	release chan struct{}
}

func init() {
	plugins.Register("test-stubborn", func() plugins.Plugin { return &stubborn{release: make(chan struct{})} })
}

func (p *stubborn) Start(ctx context.Context) error { return nil }
func (p *stubborn) Reload(ctx context.Context) error {
	<-p.release
	return nil
}
func (p *stubborn) Stop(ctx context.Context) error {
	select {} // ignores its deadline
}

func TestSlowPluginReloadAndStopDoNotHangTheUnit(t *testing.T) {
	s, stop := runSupervisor(t, map[string]string{
		"slow": "plugin = \"test-stubborn\"\nstop_timeout = \"200ms\"\n",
	})
	waitFor(t, s, "slow", control.Running)
	go func() { _ = s.Signal("slow", syscall.SIGHUP) }() // a Reload that never ends
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx, "slow"); err != nil {
		t.Fatalf("stop while a reload hangs: %v", err)
	}
	waitFor(t, s, "slow", control.Stopped)
	if code := stop(); code != 0 {
		t.Fatalf("Run returned %d", code)
	}
}

func TestDependentOfExitedLongrunFails(t *testing.T) {
	s, _ := runSupervisor(t, map[string]string{
		"a": "command = \"sleep 0.2\"\nrestart = \"never\"\n[ready]\ntcp = \"127.0.0.1:1\"\n",
		"b": "command = \"sleep 1000\"\nafter = [\"a\"]\n",
	})
	waitFor(t, s, "a", control.Exited)
	st := waitFor(t, s, "b", control.Fatal)
	if !strings.Contains(st.Reason, "dependency a") {
		t.Fatalf("b's reason %q does not name a", st.Reason)
	}
}

func TestOneshotTimeout(t *testing.T) {
	s, _ := runSupervisor(t, map[string]string{
		"hung": "type = \"oneshot\"\ncommand = \"sleep 1000\"\ntimeout = \"200ms\"\n",
		"next": "command = \"sleep 1000\"\nafter = [\"hung\"]\n",
	})
	st := waitFor(t, s, "hung", control.Fatal)
	if !strings.Contains(st.Reason, "timed out") {
		t.Fatalf("reason %q", st.Reason)
	}
	waitFor(t, s, "next", control.Fatal)
}

func TestCancelledUpdateStillRestartsTheService(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) {
		if err := os.WriteFile(filepath.Join(dir, "a.toml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("command = '''trap '' TERM; while :; do sleep 0.05; done'''\nstop_timeout = \"1s\"\n")
	s, _ := runSupervisorIn(t, dir)
	waitFor(t, s, "a", control.Running)
	write("command = '''trap '' TERM; while :; do sleep 0.06; done'''\nstop_timeout = \"1s\"\n")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Update(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	waitFor(t, s, "a", control.Running)
	if st := waitFor(t, s, "a", control.Running); st.PID == 0 {
		t.Fatal("no process after the update")
	}
	diff, err := s.Reread()
	if err != nil {
		t.Fatal(err)
	}
	if len(diff.Changed)+len(diff.Added)+len(diff.Removed) != 0 {
		t.Fatalf("after the update something is still pending: %+v", diff)
	}
}

// TestSIGTERMDuringSlowLoad: reading the service files happens off Run's
// loop, so a SIGTERM during a slow load ends Run at once, and nothing
// starts afterwards.
func TestSIGTERMDuringSlowLoad(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	sigc := make(chan os.Signal, 1)
	s, err := New(Options{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Console:    output.NewConsole(io.Discard, io.Discard),
		WatchQuiet: -1,
		Signals:    sigc,
		Load: func(services.LoadOptions) (*services.Set, error) {
			close(started)
			<-release // a load that never ends by itself
			return &services.Set{}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() { done <- s.Run(context.Background(), []string{"sleep", "1000"}) }()
	<-started
	sigc <- syscall.SIGTERM
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("Run returned %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not act on SIGTERM during the load")
	}
}

// TestBadPluginFileKeepsDependentsRunning: a plugin service whose file
// becomes invalid keeps running with its old definition, and so does what
// comes after it: an update stops neither.
func TestBadPluginFileKeepsDependentsRunning(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name+".toml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("plug", "plugin = \"test-crashy\"\n[test-crashy]\nmode = \"fine\"\n")
	write("dep", "command = \"sleep 1000\"\nafter = [\"plug\"]\n")
	s, _ := runSupervisorIn(t, dir)
	before := waitFor(t, s, "dep", control.Running)
	write("plug", "plugin = \"test-crashy\"\n[test-crashy]\nmode = \"\"\n") // Provision fails
	diff, err := s.Update(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(diff.Removed) != 0 || len(diff.Errors) != 2 {
		t.Fatalf("diff %+v: want nothing removed and two errors", diff)
	}
	after := waitFor(t, s, "dep", control.Running)
	if after.PID != before.PID {
		t.Fatalf("dep was restarted (pid %d -> %d)", before.PID, after.PID)
	}
	if st := waitFor(t, s, "plug", control.Running); st.ConfigError == "" {
		t.Fatal("the bad file's error is not shown")
	}
}
