package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/supervisor"
	"github.com/corralhq/corral/supervisor/output"
)

// fakeController is an in-memory Controller for the HTTP layer's tests
// (the engine's behaviour is tested against the real binary in
// test/control). Its services change state the way the engine's do, without
// processes.
type fakeController struct {
	mu       sync.Mutex
	order    []string
	svcs     map[string]*control.ServiceStatus
	logDir   string
	signals  []string
	diff     control.ConfigDiff
	applied  int
	shutdown bool
	metrics  []plugins.Metric
	nextPID  int
	failNext map[string]error
}

var _ Controller = (*fakeController)(nil)

func newFake(logDir string, svcs ...control.ServiceStatus) *fakeController {
	f := &fakeController{svcs: map[string]*control.ServiceStatus{}, logDir: logDir, nextPID: 1000,
		failNext: map[string]error{}}
	for _, s := range svcs {
		s := s
		s.Group = s.Name
		s.StateName = s.State.String()
		f.order = append(f.order, s.Name)
		f.svcs[s.Name] = &s
	}
	return f
}

func (f *fakeController) set(name string, st control.State) {
	s := f.svcs[name]
	s.State, s.StateName, s.Since = st, st.String(), time.Now()
}

func (f *fakeController) Status(names ...string) ([]control.ServiceStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(names) == 0 {
		names = f.order
	}
	var out []control.ServiceStatus
	for _, n := range names {
		s, ok := f.svcs[n]
		if !ok {
			return nil, fmt.Errorf("status of %s: %w", n, control.ErrNoSuchService)
		}
		out = append(out, *s)
	}
	return out, nil
}

func (f *fakeController) Start(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.svcs[name]
	if !ok {
		return control.ErrNoSuchService
	}
	if err := f.failNext[name]; err != nil {
		delete(f.failNext, name)
		f.set(name, control.Fatal)
		return err
	}
	if s.State.Up() {
		return control.ErrAlreadyStarted
	}
	f.nextPID++
	s.PID, s.Started, s.Ready = f.nextPID, time.Now(), true
	f.set(name, control.Running)
	return nil
}

func (f *fakeController) Stop(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.svcs[name]
	if !ok {
		return control.ErrNoSuchService
	}
	if !runningState(s.State) { // as the engine answers
		return control.ErrNotRunning
	}
	s.PID, s.Stopped, s.Ready = 0, time.Now(), false
	s.LastExit = &plugins.ExitStatus{Signal: syscall.SIGTERM}
	f.set(name, control.Stopped)
	return nil
}

func (f *fakeController) Request(ctx context.Context, name string, up bool) error {
	if up {
		return f.Start(ctx, name)
	}
	return f.Stop(ctx, name)
}

func (f *fakeController) Restart(ctx context.Context, name string) error {
	if err := f.Stop(ctx, name); err != nil && !errors.Is(err, control.ErrNotRunning) {
		return err
	}
	return f.Start(ctx, name)
}

func (f *fakeController) Signal(name string, sig syscall.Signal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.svcs[name]; !ok {
		return control.ErrNoSuchService
	}
	f.signals = append(f.signals, fmt.Sprintf("%s:%d", name, sig))
	return nil
}

func (f *fakeController) Reread() (control.ConfigDiff, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.diff, nil
}

func (f *fakeController) Update(ctx context.Context) (control.ConfigDiff, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied++
	d := f.diff
	f.diff = control.ConfigDiff{Errors: d.Errors}
	return d, nil
}

func (f *fakeController) Shutdown() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shutdown = true
}

func (f *fakeController) LogFile(name string, stream output.Stream) (string, error) {
	if _, ok := f.svcs[name]; !ok {
		return "", control.ErrNoSuchService
	}
	if stream == output.Stderr {
		return filepath.Join(f.logDir, name, "stderr", "current"), nil
	}
	return filepath.Join(f.logDir, name, "current"), nil
}

// Metrics builds the per-service and memory metrics with the engine's own
// helpers, as the Supervisor does, plus the metrics the test set.
func (f *fakeController) Metrics() []plugins.Metric {
	sts, _ := f.Status()
	ms := supervisor.ServiceMetrics(sts)
	ms = append(ms, plugins.Metric{Name: "corral_process_resident_memory_bytes", Type: "gauge",
		Help: "corral's resident set size.", Value: float64(supervisor.ResidentBytes())})
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(ms, f.metrics...)
}
