package services

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const testQuiet = 50 * time.Millisecond

// watchHarness runs watch on dir and counts callbacks.
type watchHarness struct {
	t       *testing.T
	dir     string
	calls   chan struct{}
	done    chan error
	cancel  context.CancelFunc
	quiet   time.Duration
	waitFor time.Duration
}

func startWatch(t *testing.T, dir string, quiet time.Duration) *watchHarness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &watchHarness{t: t, dir: dir, calls: make(chan struct{}, 100), done: make(chan error, 1), cancel: cancel, quiet: quiet, waitFor: 10 * time.Second}
	ready := make(chan struct{})
	go func() {
		h.done <- watch(ctx, dir, quiet, func() { h.calls <- struct{}{} }, func() { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-h.done:
		t.Fatalf("watch ended early: %v", err)
	case <-time.After(h.waitFor):
		t.Fatal("watch did not get ready")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-h.done; err != nil {
			t.Errorf("watch returned %v after cancel, want nil", err)
		}
	})
	return h
}

// expectCalls waits for n callbacks, then checks that no other follows
// within a burst's longest span.
func (h *watchHarness) expectCalls(n int) {
	h.t.Helper()
	for i := range n {
		select {
		case <-h.calls:
		case <-time.After(h.waitFor):
			h.t.Fatalf("got %d callbacks, want %d", i, n)
		}
	}
	select {
	case <-h.calls:
		h.t.Fatalf("got more than %d callbacks", n)
	case <-time.After(12 * h.quiet):
	}
}

// load loads the watched dir and returns "name=argv1" for each service.
func (h *watchHarness) load() []string {
	h.t.Helper()
	set, err := Load(h.dir, testOpts())
	if err != nil {
		h.t.Fatal(err)
	}
	if len(set.Errors) > 0 {
		h.t.Fatalf("errors: %v", set.Errors)
	}
	out := []string{}
	for _, s := range set.Services {
		out = append(out, s.Name+"="+s.Command[len(s.Command)-1])
	}
	return out
}

func svcFile(arg string) string { return fmt.Sprintf("command = [\"run\", %q]\n", arg) }

// TestWatch exercises each kind of change on a real directory.
func TestWatch(t *testing.T) {
	t.Run("add change remove", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		h := startWatch(t, dir, testQuiet)
		write(t, filepath.Join(dir, "web.toml"), svcFile("1"))
		h.expectCalls(1)
		eq(t, h.load(), []string{"web=1"})
		write(t, filepath.Join(dir, "web.toml"), svcFile("2"))
		h.expectCalls(1)
		eq(t, h.load(), []string{"web=2"})
		if err := os.Remove(filepath.Join(dir, "web.toml")); err != nil {
			t.Fatal(err)
		}
		h.expectCalls(1)
		eq(t, h.load(), []string{})
	})
	t.Run("atomic save by rename", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		write(t, filepath.Join(dir, "web.toml"), svcFile("old"))
		h := startWatch(t, dir, testQuiet)
		tmp := filepath.Join(dir, ".web.toml.swp")
		write(t, tmp, svcFile("new"))
		if err := os.Rename(tmp, filepath.Join(dir, "web.toml")); err != nil {
			t.Fatal(err)
		}
		h.expectCalls(1)
		eq(t, h.load(), []string{"web=new"})
	})
	t.Run("configmap ..data swap", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		write(t, filepath.Join(dir, "..v1", "web.toml"), svcFile("v1"))
		mustSymlink(t, "..v1", filepath.Join(dir, "..data"))
		mustSymlink(t, "..data/web.toml", filepath.Join(dir, "web.toml"))
		h := startWatch(t, dir, testQuiet)
		eq(t, h.load(), []string{"web=v1"})
		// What kubelet does: new timestamped dir, new ..data, old dir removed.
		write(t, filepath.Join(dir, "..v2", "web.toml"), svcFile("v2"))
		mustSymlink(t, "..v2", filepath.Join(dir, "..data_tmp"))
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(dir, "..v1")); err != nil {
			t.Fatal(err)
		}
		h.expectCalls(1)
		eq(t, h.load(), []string{"web=v2"})
	})
	t.Run("100 files at once", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		// A long quiet so the writes surely fall in one burst.
		h := startWatch(t, dir, 150*time.Millisecond)
		for i := range 100 {
			write(t, filepath.Join(dir, fmt.Sprintf("svc%03d.toml", i)), svcFile("x"))
		}
		h.expectCalls(1)
		eq(t, len(h.load()), 100)
		now := time.Now()
		for i := range 100 {
			if err := os.Chtimes(filepath.Join(dir, fmt.Sprintf("svc%03d.toml", i)), now, now); err != nil {
				t.Fatal(err)
			}
		}
		h.expectCalls(1)
	})
	t.Run("irrelevant files", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		h := startWatch(t, dir, testQuiet)
		write(t, filepath.Join(dir, "README"), "hello")
		write(t, filepath.Join(dir, ".web.toml.swp"), "x")
		write(t, filepath.Join(dir, "web.toml~"), "x")
		h.expectCalls(0)
	})
	t.Run("dir created later", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "a", "b", "services.d")
		h := startWatch(t, dir, testQuiet)
		write(t, filepath.Join(dir, "web.toml"), svcFile("1"))
		h.expectCalls(1)
		eq(t, h.load(), []string{"web=1"})
		write(t, filepath.Join(dir, "db.toml"), svcFile("2"))
		h.expectCalls(1)
		eq(t, h.load(), []string{"db=2", "web=1"})
	})
	t.Run("dir removed and created again", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "services.d")
		write(t, filepath.Join(dir, "web.toml"), svcFile("1"))
		h := startWatch(t, dir, testQuiet)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		h.expectCalls(1)
		eq(t, h.load(), []string{})
		write(t, filepath.Join(dir, "web.toml"), svcFile("2"))
		h.expectCalls(1)
		write(t, filepath.Join(dir, "web.toml"), svcFile("3"))
		h.expectCalls(1)
		eq(t, h.load(), []string{"web=3"})
	})
	t.Run("dir is a symlink swapped", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		write(t, filepath.Join(root, "v1", "web.toml"), svcFile("v1"))
		write(t, filepath.Join(root, "v2", "web.toml"), svcFile("v2"))
		dir := filepath.Join(root, "services.d")
		mustSymlink(t, "v1", dir)
		h := startWatch(t, dir, testQuiet)
		mustSymlink(t, "v2", dir+".tmp")
		if err := os.Rename(dir+".tmp", dir); err != nil {
			t.Fatal(err)
		}
		h.expectCalls(1)
		eq(t, h.load(), []string{"web=v2"})
		// The watch now follows v2.
		write(t, filepath.Join(root, "v2", "db.toml"), svcFile("db"))
		h.expectCalls(1)
		eq(t, h.load(), []string{"db=db", "web=v2"})
	})
}

// TestWatchSteadyTrickle checks that events that never pause still get a
// callback within the 10*quiet cap.
func TestWatchSteadyTrickle(t *testing.T) {
	dir := t.TempDir()
	quiet := 40 * time.Millisecond
	h := startWatch(t, dir, quiet)
	stop := time.After(30 * quiet)
	got := 0
	tick := time.NewTicker(quiet / 4)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-tick.C:
			write(t, filepath.Join(dir, "web.toml"), svcFile(fmt.Sprint(i)))
			continue
		case <-h.calls:
			got++
			continue
		case <-stop:
		}
		break
	}
	if got == 0 {
		t.Fatal("no callback during a steady trickle of events")
	}
}

// TestWatchBadArgs checks argument errors.
func TestWatchBadArgs(t *testing.T) {
	if err := Watch(context.Background(), t.TempDir(), 0, func() {}); err == nil {
		t.Fatal("Watch accepted quiet = 0")
	}
}
