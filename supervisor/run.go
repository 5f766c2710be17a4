package supervisor

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/services"
	"github.com/corralhq/corral/supervisor/internal/reaper"
	"golang.org/x/sys/unix"
)

// codeFromSignal asks Run to exit with the main command's code if there is
// one, or 0: a clean shutdown on SIGTERM or SIGINT.
const codeFromSignal = -1

// forwarded are the signals passed on to the main command. SIGCHLD and
// SIGURG (used by the Go runtime) are never forwarded.
var forwarded = []os.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGQUIT}

// Run supervises until shutdown and returns the exit code for the
// container: the main command's (128+signal if a signal killed it), 0 after
// a clean SIGTERM/SIGINT shutdown without one, 1 when an essential service
// failed. ctx ending also shuts down. Run returns only once every service's
// process group is gone.
func (s *Supervisor) Run(ctx context.Context, mainArgv []string) int {
	if os.Getpid() != 1 {
		// Orphans of our services come to us, as they would to PID 1.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			s.log.Warn("cannot become a child subreaper: orphans will not be reaped", "err", err)
		}
	}
	sigc := make(chan os.Signal, 16)
	signal.Notify(sigc, append([]os.Signal{syscall.SIGTERM, syscall.SIGINT}, forwarded...)...)
	defer signal.Stop(sigc)
	// A closed stdout (corral ... | head) must not kill corral: with SIGPIPE
	// caught, writes fail with EPIPE instead. (Not SIG_IGN: that would be
	// inherited by every service.)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	reaper.Start()

	set, err := s.loadSet()
	if err != nil {
		s.log.Error("reading services", "err", err)
		set = &services.Set{Dir: s.opts.ServicesDir}
	}
	s.startAll(set)
	s.applies.Add(1)
	close(s.initialized)

	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if s.opts.WatchQuiet > 0 {
		go s.watch(wctx)
	}

	mainExit := make(chan mainResult, 1)
	if len(mainArgv) > 0 {
		go s.runMain(ctx, mainArgv, mainExit)
	}

	code := 0
	mainDone := false
wait:
	for {
		select {
		case <-ctx.Done():
			code = codeFromSignal
			break wait
		case code = <-s.stopc:
			break wait
		case r := <-mainExit:
			if !r.ran {
				continue // shutting down before it could start
			}
			mainDone = true
			code = r.status.ShellCode()
			s.log.Info("main command exited", "status", r.status.String())
			break wait
		case sig := <-sigc:
			switch sig {
			case syscall.SIGTERM, syscall.SIGINT:
				s.log.Info("shutting down", "signal", sig.String())
				code = codeFromSignal
				break wait
			case syscall.SIGHUP:
				go func() {
					if _, err := s.Update(context.Background()); err != nil {
						s.log.Error("reload on SIGHUP", "err", err)
					}
				}()
				s.forwardToMain(sig.(syscall.Signal))
			default:
				s.forwardToMain(sig.(syscall.Signal))
			}
		}
	}
	s.stopping.Store(true)
	stopWatch()
	s.applyMu.Lock() // no live update from here on
	defer s.applyMu.Unlock()
	if len(mainArgv) > 0 && !mainDone {
		if st, ok := s.stopMain(mainExit); ok && code == codeFromSignal {
			code = st.ShellCode()
		}
	}
	if code == codeFromSignal {
		code = 0
	}
	s.stopUnits(context.Background(), s.names())
	reaper.Reap()
	s.closeAllSinks() // flush the log files
	return code
}

// closeAllSinks flushes and closes every unit's output sinks.
func (s *Supervisor) closeAllSinks() {
	for _, u := range s.allUnits() {
		_ = u.send(context.Background(), message{kind: msgCloseSinks})
	}
}

// names returns the names of every unit.
func (s *Supervisor) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// mainResult is how the main command ended; ran is false when shutdown
// began before it could start.
type mainResult struct {
	status plugins.ExitStatus
	ran    bool
}

// forwardToMain passes sig on to the main command, if one runs.
func (s *Supervisor) forwardToMain(sig syscall.Signal) {
	if pid := int(s.mainPID.Load()); pid > 0 {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			s.log.Warn("forwarding signal", "signal", sig.String(), "err", err)
		}
	}
}

// runMain waits for the services to settle, then runs the main command
// with corral's own stdin, stdout and stderr, and reports its exit: exactly
// one result on exit.
func (s *Supervisor) runMain(ctx context.Context, argv []string, exit chan<- mainResult) {
	if err := s.settled(ctx); err != nil {
		exit <- mainResult{}
		return
	}
	_, ttyErr := unix.IoctlGetTermios(0, unix.TCGETS)
	s.mainMu.Lock()
	if s.stopping.Load() {
		s.mainMu.Unlock()
		exit <- mainResult{}
		return
	}
	p, err := reaper.Spawn(reaper.Spec{
		Argv:       argv,
		Env:        s.baseEnv,
		Files:      []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Foreground: ttyErr == nil,
	})
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

// stopMain stops the main command's process group: SIGTERM, then SIGKILL
// after MainStopTimeout. It returns the main command's exit status, and
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
