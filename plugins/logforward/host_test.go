package logforward

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/corralhq/corral/supervisor"
)

// testHost is a supervisor.Host for tests, until the engine's lands.
type testHost struct {
	name, logDir, hostname string
	log                    *slog.Logger
	bus                    *supervisor.Bus
	mu                     sync.Mutex
	errs                   []error
	ctx                    context.Context
	cancel                 context.CancelFunc
	wg                     sync.WaitGroup
}

func newTestHost(logDir string) *testHost {
	ctx, cancel := context.WithCancel(context.Background())
	return &testHost{name: "logforward", logDir: logDir, hostname: "node-1.test",
		log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		bus: supervisor.NewBus(), ctx: ctx, cancel: cancel}
}

func (h *testHost) Name() string         { return h.name }
func (h *testHost) Logger() *slog.Logger { return h.log }
func (h *testHost) Bus() *supervisor.Bus { return h.bus }
func (h *testHost) LogDir() string       { return h.logDir }
func (h *testHost) Hostname() string     { return h.hostname }
func (h *testHost) ReloadService(context.Context, string) error {
	return errors.New("not in tests")
}
func (h *testHost) Exec(context.Context, supervisor.ExecSpec) (supervisor.ExecResult, error) {
	return supervisor.ExecResult{}, errors.New("not in tests")
}

// Go runs fn and records its error, like the supervisor would.
func (h *testHost) Go(fn func(ctx context.Context) error) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := fn(h.ctx); err != nil && !errors.Is(err, context.Canceled) {
			h.mu.Lock()
			h.errs = append(h.errs, err)
			h.mu.Unlock()
		}
	}()
}

// startForwarder provisions and starts a forwarder; it is stopped at cleanup.
func startForwarder(t *testing.T, h *testHost, c Config) *Forwarder {
	t.Helper()
	f := &Forwarder{Config: c}
	if err := f.Provision(h); err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Stop(context.Background())
		h.cancel()
		h.wg.Wait()
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, err := range h.errs {
			t.Errorf("plugin goroutine failed: %v", err)
		}
	})
	return f
}

var _ supervisor.Host = (*testHost)(nil)
