package supervisor

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/services"
	"github.com/corralhq/corral/supervisor/internal/reaper"
	"golang.org/x/sys/unix"
)

// codeFromSignal asks Run to exit with the main command's code if there is
// one, or 0: a clean shutdown on SIGTERM or SIGINT.
const codeFromSignal = -1

// Run supervises until shutdown and returns the exit code for the
// container: the main command's (128+signal if a signal killed it), 0 after
// a clean SIGTERM/SIGINT shutdown without one, 1 when an essential service
// failed. ctx ending also shuts down. Run returns only once every service's
// process group is gone, and every orphan left to corral too.
//
// Signals are acted on from the start: the service files are read and the
// services started off this loop, so a SIGTERM during a slow load ends Run
// at once.
func (s *Supervisor) Run(ctx context.Context, mainArgv []string) int {
	if os.Getpid() != 1 {
		// Orphans of our services come to us, as they would to PID 1.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			s.log.Warn("cannot become a child subreaper: orphans will not be reaped", "err", err)
		}
	}
	// Every signal corral handles is caught (signals.go); with SIGPIPE
	// caught, a closed stdout (corral ... | head) makes writes fail with
	// EPIPE instead of killing corral. (Not SIG_IGN: that would be
	// inherited by every service.)
	sigc := s.opts.Signals
	if sigc == nil {
		ch := make(chan os.Signal, 64)
		signal.Notify(ch, CaughtSignals()...)
		defer signal.Stop(ch)
		sigc = ch
	}
	reaper.Start()

	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	mainExit := make(chan mainResult, 1)
	go s.boot(wctx, mainArgv, mainExit)

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
				if r.giveUp {
					code = r.code
					break wait
				}
				continue // shutting down before it could start
			}
			mainDone = true
			code = r.status.ShellCode()
			s.log.Debug("main command exited", "status", r.status.String())
			break wait
		case sig := <-sigc:
			ss, _ := sig.(syscall.Signal)
			switch {
			case shutdownSignal(ss) || slices.Contains(s.opts.ShutdownSignals, ss):
				s.log.Debug("shutting down", "signal", sig.String())
				code = codeFromSignal
				break wait
			case ss == syscall.SIGHUP:
				go func() {
					if _, err := s.Update(context.Background()); err != nil && !errors.Is(err, control.ErrShuttingDown) {
						s.log.Error("reload on SIGHUP", "err", err)
					}
				}()
				s.forwardToMain(ss)
			case passedOn(ss):
				s.forwardToMain(ss)
			}
		}
	}
	s.stopping.Store(true)
	stopWatch()
	// The main command first, without waiting for a live update under way
	// (starts are refused from here on; an update's stops are bounded).
	if len(mainArgv) > 0 && !mainDone {
		if st, ok := s.stopMain(mainExit); ok && code == codeFromSignal {
			code = st.ShellCode()
		}
	}
	s.applyMu.Lock() // no live update from here on
	defer s.applyMu.Unlock()
	// A start under way is refused from here on (stopping is set); wait for
	// it to finish its loop, but not for a load still reading files.
	s.bootMu.Lock()
	defer s.bootMu.Unlock()
	s.initOnce.Do(func() { close(s.initialized) })
	if code == codeFromSignal {
		code = 0
	}
	s.stopUnits(context.Background(), s.names())
	s.stopOrphans()
	reaper.Reap()
	s.closeAllSinks() // flush the log files
	return code
}

// boot reads the services, starts them, then the live watch and the main
// command. It is Run's first step, off Run's loop.
func (s *Supervisor) boot(ctx context.Context, mainArgv []string, mainExit chan<- mainResult) {
	set, err := s.loadSet()
	if err != nil {
		s.log.Error("reading services", "err", err)
		set = &services.Set{Dir: s.opts.ServicesDir}
	}
	s.bootMu.Lock()
	if s.stopping.Load() {
		s.bootMu.Unlock()
		return
	}
	s.startAll(set)
	s.applies.Add(1)
	s.initOnce.Do(func() { close(s.initialized) })
	s.bootMu.Unlock()
	if s.opts.WatchQuiet > 0 {
		go s.watch(ctx)
	}
	if len(mainArgv) > 0 {
		s.runMain(ctx, mainArgv, mainExit)
	}
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
