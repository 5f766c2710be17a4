package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/corralhq/corral/services"
)

// procInstance is a service process running in its own process group.
type procInstance struct {
	r       *Reaper
	log     *slog.Logger
	p       proc
	svc     *services.Service
	exitc   chan instanceExit
	readyc  chan error
	stopped chan struct{}   // closed by terminate
	main    chan struct{}   // closed when the main process has exited
	outDone <-chan struct{} // closed when the output pipes are drained
	once    sync.Once
}

// startProcess spawns svc's command with its output going to sinks.
func (s *Supervisor) startProcess(ctx context.Context, svc *services.Service, sinks []LineSink) (*procInstance, error) {
	pipes, err := newOutputPipes()
	if err != nil {
		return nil, fmt.Errorf("creating output pipes: %w", err)
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		pipes.closeAll()
		return nil, err
	}
	defer devnull.Close()
	files := []*os.File{devnull, pipes.stdoutW, pipes.stderrW}
	var notifyR, notifyW *os.File
	if svc.Ready != nil && svc.Ready.NotifyFD > 0 {
		if notifyR, notifyW, err = os.Pipe(); err != nil {
			pipes.closeAll()
			return nil, err
		}
		for len(files) <= svc.Ready.NotifyFD {
			files = append(files, nil)
		}
		files[svc.Ready.NotifyFD] = notifyW
	}
	env := s.serviceEnv(svc)
	p, err := s.reaper.spawnProc(procSpec{
		argv:  svc.Command,
		env:   env,
		dir:   svc.WorkingDir,
		cred:  svc.Credential,
		files: files,
	})
	if notifyW != nil {
		notifyW.Close()
	}
	if err != nil {
		pipes.closeAll()
		if notifyR != nil {
			notifyR.Close()
		}
		return nil, err
	}
	outDone := pipes.startReaders(svc.Name, sinks)
	in := &procInstance{
		outDone: outDone,
		log:     s.log.With("service", svc.Name),
		r:       s.reaper, p: p, svc: svc,
		exitc:   make(chan instanceExit, 1),
		readyc:  make(chan error, 1),
		stopped: make(chan struct{}),
		main:    make(chan struct{}),
	}
	go in.watch()
	if svc.Ready == nil {
		in.readyc <- nil
	} else {
		rctx, cancel := context.WithCancel(ctx)
		go func() {
			<-in.main
			cancel()
		}()
		go func() {
			rd := readiness{reaper: s.reaper, env: env}
			err := rd.wait(rctx, svc.Ready, notifyR)
			if notifyR != nil {
				notifyR.Close()
			}
			select {
			case <-in.main:
				// The process exited: its exit, not a cancelled probe, is
				// what to report.
			default:
				in.readyc <- err
			}
		}()
	}
	return in, nil
}

// watch waits for the main process, then for the group per the stop rules,
// and reports the exit.
func (in *procInstance) watch() {
	st := <-in.p.exit
	close(in.main)
	select {
	case <-in.stopped:
		// A requested stop: report only when the whole group is gone. The
		// kill timer started by terminate sends SIGKILL at stop_timeout;
		// past that and a grace, a process that cannot die (stuck in the
		// kernel) is left behind rather than hanging the shutdown.
		if !waitGroupGone(in.r, in.p.pid, time.After(in.svc.StopTimeout+5*time.Second)) {
			in.log.Warn("process group still alive after SIGKILL", "pgid", in.p.pid)
		}
	default:
		// The service exited by itself: clean up what it left behind in its
		// group without delaying the restart.
		if groupAlive(in.p.pid) {
			go in.reapLeftovers()
		}
	}
	// Let the readers pass on the last lines before the exit is reported
	// (bounded: an escaped grandchild may hold the pipes open).
	select {
	case <-in.outDone:
	case <-time.After(100 * time.Millisecond):
	}
	in.exitc <- instanceExit{status: st}
}

func (in *procInstance) reapLeftovers() {
	_ = signalGroup(in.p.pid, in.svc.StopSignal)
	deadline := time.After(in.svc.StopTimeout)
	if !waitGroupGone(in.r, in.p.pid, deadline) {
		_ = signalGroup(in.p.pid, syscall.SIGKILL)
	}
}

func (in *procInstance) pid() int                        { return in.p.pid }
func (in *procInstance) exited() <-chan instanceExit     { return in.exitc }
func (in *procInstance) ready() <-chan error             { return in.readyc }
func (in *procInstance) signal(sig syscall.Signal) error { return syscall.Kill(in.p.pid, sig) }

func (in *procInstance) reload(_ context.Context, sig syscall.Signal) error {
	return in.signal(sig)
}

func (in *procInstance) terminate(sig syscall.Signal, timeout time.Duration) {
	in.once.Do(func() {
		close(in.stopped)
		_ = signalGroup(in.p.pid, sig)
		// SIGCONT wakes a stopped group so it can act on sig.
		_ = signalGroup(in.p.pid, syscall.SIGCONT)
		go func() {
			t := time.NewTimer(timeout)
			defer t.Stop()
			select {
			case <-t.C:
				_ = signalGroup(in.p.pid, syscall.SIGKILL)
			case <-in.main:
				if !waitGroupGone(in.r, in.p.pid, t.C) {
					_ = signalGroup(in.p.pid, syscall.SIGKILL)
				}
			}
		}()
	})
}

// waitGroupGone waits until process group pgid is empty, re-checking after
// every reaped batch (and on a short poll, for processes reaped by a parent
// other than corral). It returns false if deadline fires first.
func waitGroupGone(r *Reaper, pgid int, deadline <-chan time.Time) bool {
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		changed := r.Changed()
		if !groupAlive(pgid) {
			return true
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-deadline:
			return false
		}
	}
}
