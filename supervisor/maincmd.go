package supervisor

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/supervisor/internal/reaper"
	"golang.org/x/sys/unix"
)

// mainResult is how the main command ended; ran is false when shutdown
// began before it could start, and giveUp when it will not run at all (the
// services did not settle in time and WaitServicesFatal says to stop, or
// MainGate refused): corral then stops with code.
type mainResult struct {
	status plugins.ExitStatus
	ran    bool
	giveUp bool
	code   int
}

// forwardToMain passes sig on to the main command, if one runs.
func (s *Supervisor) forwardToMain(sig syscall.Signal) {
	if pid := int(s.mainPID.Load()); pid > 0 {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			s.log.Warn("forwarding signal", "signal", sig.String(), "err", err)
		}
	}
}

// runMain waits for the services to settle (at most WaitServices), then
// runs the main command with corral's own stdin, stdout and stderr, and
// reports its exit: exactly one result on exit.
func (s *Supervisor) runMain(ctx context.Context, argv []string, exit chan<- mainResult) {
	wctx := ctx
	if s.opts.WaitServices > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, s.opts.WaitServices)
		defer cancel()
	}
	settled := true
	if err := s.settled(wctx); err != nil {
		if ctx.Err() != nil {
			exit <- mainResult{}
			return
		}
		settled = false
		names, _ := s.starting()
		waiting := strings.Join(names, ", ")
		switch {
		case s.opts.MainGate != nil:
			// The gate decides, and says why.
		case s.opts.WaitServicesFatal:
			s.log.Error("services not ready in time: stopping", "waited", s.opts.WaitServices, "not_ready", waiting)
			exit <- mainResult{giveUp: true, code: 1}
			return
		default:
			s.log.Error("services not ready in time: starting the main command anyway", "waited", s.opts.WaitServices, "not_ready", waiting)
		}
	}
	if s.opts.MainGate != nil {
		if code, run := s.opts.MainGate(settled); !run {
			exit <- mainResult{giveUp: true, code: code}
			return
		}
	}
	if s.opts.MainAfter != nil {
		select {
		case <-s.opts.MainAfter:
		case <-ctx.Done():
			exit <- mainResult{}
			return
		}
	}
	env := s.opts.MainEnv
	if env == nil {
		env = s.baseEnv
	}
	if len(s.opts.ExportEnv) > 0 {
		env = append(append([]string(nil), env...), s.opts.ExportEnv...)
	}
	s.mainMu.Lock()
	if s.stopping.Load() {
		s.mainMu.Unlock()
		exit <- mainResult{}
		return
	}
	spec := reaper.Spec{
		Argv:       argv,
		Env:        env,
		Files:      []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Foreground: ownTerminal(),
	}
	p, err := reaper.Spawn(spec)
	if err != nil && spec.Foreground && (errors.Is(err, syscall.ENOTTY) || errors.Is(err, syscall.EPERM)) {
		// The terminal could not be given to it after all: run it without.
		spec.Foreground = false
		p, err = reaper.Spawn(spec)
	}
	if err != nil {
		s.mainMu.Unlock()
		s.log.Error("main command", "err", err)
		// As a shell would: 127 for not found, 126 for not executable.
		code := 127
		if errors.Is(err, os.ErrPermission) {
			code = 126
		}
		exit <- mainResult{status: plugins.ExitStatus{Code: code}, ran: true}
		return
	}
	s.mainStarted, s.mainPgid = true, p.Pid
	s.mainPID.Store(int64(p.Pid))
	s.mainMu.Unlock()
	st := <-p.Exit
	s.mainPID.Store(0)
	exit <- mainResult{status: st, ran: true}
}

// ownTerminal reports whether stdin is corral's controlling terminal, so
// that the main command can be made its foreground process group (docker
// run -it). A terminal that is not ours (setsid under script, some CI
// runners) fails TIOCGPGRP with ENOTTY: the main command then runs without
// taking it, as it would under tini or dumb-init.
func ownTerminal() bool {
	_, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil
}

// starting returns the names of the units still STARTING, and a channel
// that closes on the next change of the first of them (nil when none is):
// all must leave STARTING, so waiting on any one of them loses nothing.
func (s *Supervisor) starting() (names []string, wake <-chan struct{}) {
	for _, u := range s.allUnits() {
		if st, ch := u.snapshot(); st.State == control.Starting {
			names = append(names, u.name)
			if wake == nil {
				wake = ch
			}
		}
	}
	return names, wake
}

// defaultMainStopTimeout bounds the main command's stop at shutdown.
const defaultMainStopTimeout = 10 * time.Second

// stopMain stops the main command's process group: SIGTERM, then SIGKILL
// after mainStopTimeout. It returns the main command's exit status, and
// false when it never started. shuttingDown must already be set, so that
// runMain cannot start it after this looked.
func (s *Supervisor) stopMain(mainExit <-chan mainResult) (plugins.ExitStatus, bool) {
	s.mainMu.Lock()
	started, pgid := s.mainStarted, s.mainPgid
	s.mainMu.Unlock()
	if !started {
		return plugins.ExitStatus{}, false
	}
	_ = reaper.SignalGroup(pgid, syscall.SIGTERM)
	_ = reaper.SignalGroup(pgid, syscall.SIGCONT)
	t := time.NewTimer(s.opts.MainStopTimeout)
	defer t.Stop()
	select {
	case r := <-mainExit:
		if !reaper.WaitGroupGone(pgid, t.C) {
			_ = reaper.SignalGroup(pgid, syscall.SIGKILL)
		}
		return r.status, true
	case <-t.C:
		s.log.Warn("main command did not stop in time: killing it", "timeout", s.opts.MainStopTimeout)
		_ = reaper.SignalGroup(pgid, syscall.SIGKILL)
		r := <-mainExit
		return r.status, true
	}
}
