// Package plugintest provides a plugins.Host for testing plugins outside
// the engine: a real bus, supervised goroutines whose errors and panics are
// recorded, and Exec through os/exec (tests are not PID 1, so they may).
package plugintest

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

	"github.com/corralhq/corral/plugins"
)

// Host is a plugins.Host for driving one plugin in a test.
type Host struct {
	name     string
	hostname string
	log      *slog.Logger
	bus      *plugins.Bus
	logDir   string
	reload   func(ctx context.Context, name string) error
	env      map[string]string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// NewHost returns a host for a plugin instance called name (also its host
// name) with a bus of its own.
func NewHost(name string, log *slog.Logger) *Host {
	ctx, cancel := context.WithCancel(context.Background())
	return &Host{name: name, hostname: name, log: log, bus: plugins.NewBus(), ctx: ctx, cancel: cancel}
}

// SetLogDir sets what LogDir returns (default: the temporary directory).
func (h *Host) SetLogDir(dir string) { h.logDir = dir }

// SetHostname sets what Hostname returns (default: the name).
func (h *Host) SetHostname(name string) { h.hostname = name }

// SetReload makes ReloadService call fn (default: it fails).
func (h *Host) SetReload(fn func(ctx context.Context, name string) error) { h.reload = fn }

// Setenv sets a variable of the environment LookupEnv reads (by default the
// test process's own).
func (h *Host) Setenv(key, value string) {
	if h.env == nil {
		h.env = map[string]string{}
	}
	h.env[key] = value
}

// LookupEnv reads the variables set with Setenv, then the process's own.
func (h *Host) LookupEnv(key string) (string, bool) {
	if v, ok := h.env[key]; ok {
		return v, true
	}
	return os.LookupEnv(key)
}

// Context is cancelled by Shutdown: the context to Start a plugin with.
func (h *Host) Context() context.Context { return h.ctx }

// SetBus makes the host use b, so that several plugins share one bus; call
// it before the plugin starts.
func (h *Host) SetBus(b *plugins.Bus) { h.bus = b }

// Name is the plugin instance's name.
func (h *Host) Name() string { return h.name }

// Logger is the logger given to NewHost.
func (h *Host) Logger() *slog.Logger { return h.log }

// Bus is the host's event bus.
func (h *Host) Bus() *plugins.Bus { return h.bus }

// LogDir is the directory set by SetLogDir, or the temporary directory.
func (h *Host) LogDir() string {
	if h.logDir == "" {
		return os.TempDir()
	}
	return h.logDir
}

// Hostname is the name given to NewHost.
func (h *Host) Hostname() string { return h.hostname }

// ReloadService calls the function set by SetReload; without one it fails.
func (h *Host) ReloadService(ctx context.Context, name string) error {
	if h.reload == nil {
		return fmt.Errorf("no service %q here", name)
	}
	return h.reload(ctx, name)
}

// Go runs fn and records its error or panic.
func (h *Host) Go(fn func(ctx context.Context) error) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				h.fail(fmt.Errorf("panic: %v", r))
			}
		}()
		// As in the engine: an error counts unless the host is shutting
		// down or the plugin is ending its own goroutines.
		if err := fn(h.ctx); err != nil && h.ctx.Err() == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, plugins.ErrDone) {
			h.fail(err)
		}
	}()
}

func (h *Host) fail(err error) {
	h.mu.Lock()
	h.errs = append(h.errs, err)
	h.mu.Unlock()
	h.log.Error("plugin failed", "err", err)
}

// Failures returns the errors (and panics) of the plugin's goroutines.
func (h *Host) Failures() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.errs...)
}

// Shutdown cancels the goroutines' context and waits for them.
func (h *Host) Shutdown() {
	h.cancel()
	h.wg.Wait()
}

// Exec runs the command with os/exec.
func (h *Host) Exec(ctx context.Context, spec plugins.ExecSpec) (plugins.ExecResult, error) {
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
	res := plugins.ExecResult{Output: out.Bytes()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Status = plugins.FromWaitStatus(ee.Sys().(syscall.WaitStatus))
		return res, nil
	case err != nil:
		return res, err
	}
	return res, nil
}

var _ plugins.Host = (*Host)(nil)
