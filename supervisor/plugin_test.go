package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/services"
	"github.com/corralhq/corral/supervisor/output"
)

// crashy is a test plugin that fails in one of several ways.
type crashy struct {
	Mode string `toml:"mode"`
	host plugins.Host
}

func init() {
	plugins.Register("test-crashy", func() plugins.Plugin { return &crashy{} })
}

func (c *crashy) Provision(h plugins.Host) error {
	if c.Mode == "" {
		return errors.New("mode is required")
	}
	c.host = h
	return nil
}

func (c *crashy) Start(ctx context.Context) error {
	switch c.Mode {
	case "start-error":
		return errors.New("cannot start")
	case "panic":
		c.host.Go(func(ctx context.Context) error {
			time.Sleep(5 * time.Millisecond)
			panic("boom")
		})
	case "error":
		c.host.Go(func(ctx context.Context) error { return errors.New("lost the thing") })
	case "done":
		c.host.Go(func(ctx context.Context) error { return fmt.Errorf("finished its work: %w", plugins.ErrDone) })
	case "fine":
		c.host.Go(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	}
	return nil
}

func (c *crashy) Stop(ctx context.Context) error { return nil }

func runSupervisor(t *testing.T, files map[string]string) (*Supervisor, func() int) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name+".toml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return runSupervisorIn(t, dir)
}

// runSupervisorIn runs a Supervisor on dir (without the live watch) until
// the returned stop is called or the test ends.
func runSupervisorIn(t *testing.T, dir string) (*Supervisor, func() int) {
	t.Helper()
	return runSupervisorOpts(t, Options{ServicesDir: dir})
}

// runSupervisorWith runs a Supervisor whose services come from load.
func runSupervisorWith(t *testing.T, load func(services.LoadOptions) (*services.Set, error)) (*Supervisor, func() int) {
	t.Helper()
	return runSupervisorOpts(t, Options{Load: load})
}

// runSupervisorOpts runs a Supervisor (quiet, without the live watch) until
// the returned stop is called or the test ends.
func runSupervisorOpts(t *testing.T, opts Options) (*Supervisor, func() int) {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Console = output.NewConsole(io.Discard, io.Discard)
	opts.WatchQuiet = -1
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- s.Run(ctx, nil) }()
	stop := func() int {
		cancel()
		select {
		case c := <-done:
			return c
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return")
			return -1
		}
	}
	var once sync.Once
	code := 0
	stopOnce := func() int { once.Do(func() { code = stop() }); return code }
	t.Cleanup(func() { stopOnce() })
	return s, stopOnce
}

func waitFor(t *testing.T, s *Supervisor, name string, want control.State) control.ServiceStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var st control.ServiceStatus
	for time.Now().Before(deadline) {
		sts, err := s.Status(name)
		if err == nil && len(sts) == 1 {
			st = sts[0]
			if st.State == want {
				return st
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: want %s, have %s (%s)", name, want, st.State, st.Reason)
	return st
}

func TestFailingPluginsAreSupervised(t *testing.T) {
	conf := func(mode string) string {
		return `plugin = "test-crashy"
max_restarts = 3
[backoff]
min = "5ms"
[test-crashy]
mode = "` + mode + `"
`
	}
	s, _ := runSupervisor(t, map[string]string{
		"panics":  conf("panic"),
		"errors":  conf("error"),
		"nostart": conf("start-error"),
		"fine":    conf("fine"),
	})
	for _, name := range []string{"panics", "errors", "nostart"} {
		st := waitFor(t, s, name, control.Fatal)
		if st.Restarts != 3 {
			t.Errorf("%s: %d restarts before FATAL, want 3", name, st.Restarts)
		}
	}
	st := waitFor(t, s, "fine", control.Running)
	if st.Type != "plugin" || st.Plugin != "test-crashy" || !st.Ready {
		t.Errorf("fine: %+v", st)
	}
}

func TestBadPluginTableIsReportedAndSkipped(t *testing.T) {
	s, _ := runSupervisor(t, map[string]string{
		"bad":  "plugin = \"test-crashy\"\n[test-crashy]\nmood = \"fine\"\n",
		"bad2": "plugin = \"test-crashy\"\n",
		"ok":   `command = "sleep 1000"`,
	})
	waitFor(t, s, "ok", control.Running)
	if _, err := s.Status("bad"); !errors.Is(err, control.ErrNoSuchService) {
		t.Fatalf("bad plugin table: service exists (%v)", err)
	}
	diff, err := s.Reread()
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(diff.Errors, "\n")
	if !strings.Contains(all, "bad.toml:3") || !strings.Contains(all, "mood") {
		t.Errorf("errors do not name file, line and key: %q", all)
	}
	if !strings.Contains(all, "bad2.toml") || !strings.Contains(all, "mode is required") {
		t.Errorf("Provision error missing: %q", all)
	}
}

// TestPluginDoneStaysExited: a plugin ending with plugins.ErrDone is not a
// failure and is not restarted, whatever its restart policy; its reason is
// shown, and start brings it back.
func TestPluginDoneStaysExited(t *testing.T) {
	s, _ := runSupervisor(t, map[string]string{
		"p": "plugin = \"test-crashy\"\n[test-crashy]\nmode = \"done\"\n",
	})
	st := waitFor(t, s, "p", control.Exited)
	if !strings.Contains(st.Reason, "finished its work") || st.Restarts != 0 || st.LastExit == nil || !st.LastExit.Success() {
		t.Fatalf("status %+v", st)
	}
	time.Sleep(300 * time.Millisecond)
	if st := waitFor(t, s, "p", control.Exited); st.Restarts != 0 {
		t.Fatalf("restarted: %+v", st)
	}
	if err := s.Start(context.Background(), "p"); err != nil && !errors.Is(err, control.ErrAbnormal) {
		t.Fatalf("start: %v", err)
	}
}
