package supervisor

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/supervisor/output"
)

// Status returns the given services, or all in dependency order.
func (s *Supervisor) Status(names ...string) ([]control.ServiceStatus, error) {
	s.mu.Lock()
	if len(names) == 0 {
		names = append([]string(nil), s.order...)
	}
	units := make([]*unit, 0, len(names))
	for _, n := range names {
		u, ok := s.units[n]
		if !ok {
			s.mu.Unlock()
			return nil, fmt.Errorf("%s: %w", n, control.ErrNoSuchService)
		}
		units = append(units, u)
	}
	s.mu.Unlock()
	out := make([]control.ServiceStatus, 0, len(units))
	for _, u := range units {
		out = append(out, u.status())
	}
	return out, nil
}

// status returns the unit's snapshot completed for display.
func (u *unit) status() control.ServiceStatus {
	u.mu.Lock()
	st := u.st
	svc := u.svc
	inst := u.inst
	u.mu.Unlock()
	st.StateName = st.State.String()
	st.Type = svc.Type.String()
	if svc.Plugin != "" {
		st.Type = "plugin"
		st.Plugin = svc.Plugin
	}
	if pi, ok := inst.(*pluginInstance); ok && st.State == control.Running {
		if ps, ok := pi.status(); ok {
			st.Reason = ps.Description
			st.Ready = st.Ready && ps.Ready
			st.Detail = ps.Detail
		}
	}
	return st
}

// Start starts a stopped service and waits until it is running (or, for a
// oneshot, has succeeded), or has failed.
func (s *Supervisor) Start(ctx context.Context, name string) error {
	u, ok := s.unit(name)
	if !ok {
		return fmt.Errorf("%s: %w", name, control.ErrNoSuchService)
	}
	if s.stopping.Load() {
		return control.ErrShuttingDown
	}
	before, _ := u.snapshot()
	if err := u.send(ctx, message{kind: msgStart}); err != nil {
		return err
	}
	var settle <-chan time.Time
	for {
		st, changed := u.snapshot()
		if st.Restarts > before.Restarts {
			return control.ErrAbnormal // it exited while starting and is being restarted
		}
		switch st.State {
		case control.Running:
			// Without a readiness check, running means only "spawned": like
			// supervisord's startsecs, it must stay up a moment to count.
			if svc := u.service(); svc.Ready != nil || svc.Plugin != "" {
				return nil
			}
			if settle == nil {
				left := startSettle - time.Since(st.Started)
				if left <= 0 {
					return nil
				}
				settle = time.After(left)
			}
		case control.Exited:
			if st.LastExit != nil && st.LastExit.Success() {
				return nil
			}
			return control.ErrAbnormal
		case control.Fatal:
			return fmt.Errorf("%w: %s", control.ErrSpawn, st.Reason)
		case control.Stopped, control.Backoff:
			return control.ErrAbnormal
		}
		select {
		case <-changed:
		case <-settle:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// startSettle is how long a service without a readiness check must stay up
// for Start to report it started (supervisord's startsecs).
const startSettle = time.Second

// Stop stops a service and waits until its process group is gone.
func (s *Supervisor) Stop(ctx context.Context, name string) error {
	u, ok := s.unit(name)
	if !ok {
		return fmt.Errorf("%s: %w", name, control.ErrNoSuchService)
	}
	return u.send(ctx, message{kind: msgStop})
}

// Request asks for a service to be started (up) or stopped, and returns
// once its actor took the message: requests are carried out in the order
// they come, without waiting for them to be done.
func (s *Supervisor) Request(ctx context.Context, name string, up bool) error {
	u, ok := s.unit(name)
	if !ok {
		return fmt.Errorf("%s: %w", name, control.ErrNoSuchService)
	}
	if up && s.stopping.Load() {
		return control.ErrShuttingDown
	}
	kind := msgStop
	if up {
		kind = msgStart
	}
	return u.post(ctx, message{kind: kind})
}

// Restart stops (if running) and starts a service.
func (s *Supervisor) Restart(ctx context.Context, name string) error {
	if err := s.Stop(ctx, name); err != nil && !errors.Is(err, control.ErrNotRunning) {
		return err
	}
	return s.Start(ctx, name)
}

// Signal sends sig to a running service's main process.
func (s *Supervisor) Signal(name string, sig syscall.Signal) error {
	u, ok := s.unit(name)
	if !ok {
		return fmt.Errorf("%s: %w", name, control.ErrNoSuchService)
	}
	return u.send(context.Background(), message{kind: msgSignal, sig: sig})
}

// Reload reloads a service: its reload_signal for a process, Reload for a plugin.
func (s *Supervisor) Reload(ctx context.Context, name string) error {
	u, ok := s.unit(name)
	if !ok {
		return fmt.Errorf("%s: %w", name, control.ErrNoSuchService)
	}
	return u.send(ctx, message{kind: msgReload})
}

// Shutdown starts the orderly shutdown.
func (s *Supervisor) Shutdown() { s.requestStop(codeFromSignal) }

// LogFile returns the current log file of a service's stream.
func (s *Supervisor) LogFile(name string, stream output.Stream) (string, error) {
	if _, ok := s.unit(name); !ok {
		return "", fmt.Errorf("%s: %w", name, control.ErrNoSuchService)
	}
	if s.opts.LogPath == nil {
		return "", errors.New("no log files are written")
	}
	return s.opts.LogPath(name, stream), nil
}
