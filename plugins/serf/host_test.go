package serf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"github.com/corralhq/corral/supervisor"
)

// testHost is a minimal supervisor.Host for driving the plugin in tests
// (and in the helper process) until the engine's own Host can be used.
// Exec uses os/exec: tests are not PID 1.
type testHost struct {
	name     string
	hostname string
	log      *slog.Logger
	bus      *supervisor.Bus

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

func newTestHost(name string, log *slog.Logger) *testHost {
	ctx, cancel := context.WithCancel(context.Background())
	return &testHost{name: name, hostname: name, log: log, bus: supervisor.NewBus(), ctx: ctx, cancel: cancel}
}

func (h *testHost) Name() string         { return h.name }
func (h *testHost) Logger() *slog.Logger { return h.log }
func (h *testHost) Bus() *supervisor.Bus { return h.bus }
func (h *testHost) LogDir() string       { return os.TempDir() }
func (h *testHost) Hostname() string     { return h.hostname }
func (h *testHost) ReloadService(context.Context, string) error {
	return errors.New("no services here")
}

// Go runs fn and records its error or panic.
func (h *testHost) Go(fn func(ctx context.Context) error) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				h.fail(fmt.Errorf("panic: %v", r))
			}
		}()
		if err := fn(h.ctx); err != nil && h.ctx.Err() == nil {
			h.fail(err)
		}
	}()
}

func (h *testHost) fail(err error) {
	h.mu.Lock()
	h.errs = append(h.errs, err)
	h.mu.Unlock()
	h.log.Error("plugin failed", "err", err)
}

// failures returns the errors of the plugin's goroutines.
func (h *testHost) failures() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.errs...)
}

// shutdown cancels the goroutines' context and waits for them.
func (h *testHost) shutdown() {
	h.cancel()
	h.wg.Wait()
}

// Exec runs the command with os/exec.
func (h *testHost) Exec(ctx context.Context, spec supervisor.ExecSpec) (supervisor.ExecResult, error) {
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, spec.Argv[0], spec.Argv[1:]...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Dir = spec.Dir
	cmd.Stdin = bytes.NewReader(spec.Stdin)
	// Like the engine: the command gets its own process group, killed
	// whole on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	res := supervisor.ExecResult{Output: out.Bytes()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Status = supervisor.FromWaitStatus(ee.Sys().(syscall.WaitStatus))
		return res, nil
	case err != nil:
		return res, err
	}
	return res, nil
}

var _ supervisor.Host = (*testHost)(nil)
