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
	"github.com/corralhq/corral/supervisor/internal/reaper"
	"github.com/corralhq/corral/supervisor/output"
)

// procInstance is a service process running in its own process group.
type procInstance struct {
	log     *slog.Logger
	p       reaper.Proc
	svc     *services.Service
	exitc   chan instanceExit
	readyc  chan error
	stopped chan struct{}   // closed by terminate
	main    chan struct{}   // closed when the main process has exited
	outDone <-chan struct{} // closed when the output pipes are drained
	once    sync.Once
}

// launch starts an instance of svc: its plugin, or a process running argv
// (svc's command when nil) with its output going to sinks. A oneshot with
// no command succeeds at once, with no process.
func (s *Supervisor) launch(svc *services.Service, argv []string, sinks []output.LineSink) (instance, error) {
	switch {
	case svc.Plugin != "" && argv == nil:
		return s.startPlugin(svc)
	case svc.Plugin == "" && argv == nil && len(svc.Command) == 0 && svc.Type == services.Oneshot:
		return newNopInstance(), nil
	}
	return s.startProcess(svc, argv, sinks)
}

// startProcess spawns argv (svc's command when nil) in a process group of
// its own. Its stdout and stderr go to sinks, except that svc's own
// command writes its stdout into the pipe read by svc.StdoutTo, and a
// service others write to reads that pipe as its stdin.
func (s *Supervisor) startProcess(svc *services.Service, argv []string, sinks []output.LineSink) (*procInstance, error) {
	script := argv != nil
	if !script {
		argv = svc.Command
	}
	pipes, err := output.NewPipes()
	if err != nil {
		return nil, fmt.Errorf("creating output pipes: %w", err)
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		pipes.Close()
		return nil, err
	}
	defer devnull.Close()
	files := []*os.File{devnull, pipes.StdoutW, pipes.StderrW}
	if !script {
		if s.readsPipe(svc.Name) {
			r, err := s.pipeline.reader(svc.Name)
			if err != nil {
				pipes.Close()
				return nil, err
			}
			files[0] = r
		}
	}
	if svc.StdoutTo != "" {
		// Its finish script writes to the same place as its run (s6).
		w, err := s.pipeline.writer(svc.StdoutTo)
		if err != nil {
			pipes.Close()
			return nil, err
		}
		files[1] = w
	}
	var notifyR, notifyW *os.File
	if !script && svc.Ready != nil && svc.Ready.NotifyFD > 0 {
		if notifyR, notifyW, err = os.Pipe(); err != nil {
			pipes.Close()
			return nil, err
		}
		for len(files) <= svc.Ready.NotifyFD {
			files = append(files, nil)
		}
		files[svc.Ready.NotifyFD] = notifyW
	}
	env := s.serviceEnv(svc)
	p, err := reaper.Spawn(reaper.Spec{
		Argv:  argv,
		Env:   env,
		Dir:   svc.WorkingDir,
		Cred:  svc.Credential.Sys(),
		Files: files,
	})
	if notifyW != nil {
		notifyW.Close()
	}
	if err != nil {
		pipes.Close()
		if notifyR != nil {
			notifyR.Close()
		}
		return nil, err
	}
	outDone := pipes.Start(svc.Name, sinks)
	in := &procInstance{
		outDone: outDone,
		log:     s.log.With("service", svc.Name),
		p:       p, svc: svc,
		exitc:   make(chan instanceExit, 1),
		readyc:  make(chan error, 1),
		stopped: make(chan struct{}),
		main:    make(chan struct{}),
	}
	go in.watch()
	if script || svc.Ready == nil {
		in.readyc <- nil
		return in, nil
	}
	rctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-in.main
		cancel()
	}()
	go func() {
		rd := readiness{env: env}
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
	return in, nil
}

// watch waits for the main process, then for the group per the stop rules,
// and reports the exit.
func (in *procInstance) watch() {
	st := <-in.p.Exit
	close(in.main)
	select {
	case <-in.stopped:
		// A requested stop: report only when the whole group is gone. The
		// kill timer started by terminate sends SIGKILL at stop_timeout;
		// past that and a grace, a process that cannot die (stuck in the
		// kernel) is left behind rather than hanging the shutdown.
		if !reaper.WaitGroupGone(in.p.Pid, time.After(in.svc.StopTimeout+5*time.Second)) {
			in.log.Warn("process group still alive after SIGKILL", "pgid", in.p.Pid)
		}
	default:
		// The service exited by itself: clean up what it left behind in its
		// group without delaying the restart.
		if reaper.GroupAlive(in.p.Pid) {
			go in.reapLeftovers()
		}
	}
	// Let the readers pass on the last lines before the exit is reported
	// (bounded: an escaped grandchild may hold the pipes open).
	select {
	case <-in.outDone:
	case <-time.After(100 * time.Millisecond):
	}
	in.exitc <- instanceExit{status: st, pid: in.p.Pid}
}

func (in *procInstance) reapLeftovers() {
	_ = reaper.SignalGroup(in.p.Pid, in.svc.StopSignal)
	deadline := time.After(in.svc.StopTimeout)
	if !reaper.WaitGroupGone(in.p.Pid, deadline) {
		_ = reaper.SignalGroup(in.p.Pid, syscall.SIGKILL)
	}
}

func (in *procInstance) pid() int                        { return in.p.Pid }
func (in *procInstance) exited() <-chan instanceExit     { return in.exitc }
func (in *procInstance) ready() <-chan error             { return in.readyc }
func (in *procInstance) signal(sig syscall.Signal) error { return syscall.Kill(in.p.Pid, sig) }

func (in *procInstance) reload(_ context.Context, sig syscall.Signal) error {
	return in.signal(sig)
}

func (in *procInstance) terminate(sig syscall.Signal, timeout time.Duration) {
	in.once.Do(func() {
		close(in.stopped)
		_ = reaper.SignalGroup(in.p.Pid, sig)
		// SIGCONT wakes a stopped group so it can act on sig.
		_ = reaper.SignalGroup(in.p.Pid, syscall.SIGCONT)
		go func() {
			t := time.NewTimer(timeout)
			defer t.Stop()
			select {
			case <-t.C:
				_ = reaper.SignalGroup(in.p.Pid, syscall.SIGKILL)
			case <-in.main:
				if !reaper.WaitGroupGone(in.p.Pid, t.C) {
					_ = reaper.SignalGroup(in.p.Pid, syscall.SIGKILL)
				}
			}
		}()
	})
}
