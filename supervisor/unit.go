package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/services"
	"github.com/corralhq/corral/supervisor/output"
)

// unit is one supervised service. Its actor goroutine (run) owns the
// lifecycle; other goroutines talk to it through cmds and read the snapshot
// fields under mu.
type unit struct {
	sup  *Supervisor
	log  *slog.Logger
	cmds chan unitCmd

	mu      sync.Mutex
	svc     *services.Service
	sinks   []output.LineSink
	st      control.ServiceStatus
	inst    instance
	changed chan struct{} // closed and replaced on every state change
}

type cmdKind int

const (
	cmdStart cmdKind = iota
	cmdStop
	cmdSignal
	cmdReload
	// cmdQuit ends the actor of a stopped unit that was removed.
	cmdQuit
)

type unitCmd struct {
	kind  cmdKind
	sig   syscall.Signal
	ctx   context.Context
	reply chan error
}

func newUnit(s *Supervisor, svc *services.Service) *unit {
	u := &unit{
		sup:     s,
		log:     s.log.With("service", svc.Name),
		cmds:    make(chan unitCmd),
		svc:     svc,
		changed: make(chan struct{}),
	}
	u.st = control.ServiceStatus{Name: svc.Name, Group: svc.Name, State: control.Stopped, Since: time.Now()}
	u.openSinks()
	go u.run()
	return u
}

// service returns the current definition.
func (u *unit) service() *services.Service {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.svc
}

// send delivers a command to the actor and waits for its reply.
func (u *unit) send(ctx context.Context, kind cmdKind, sig syscall.Signal) error {
	c := unitCmd{kind: kind, sig: sig, ctx: ctx, reply: make(chan error, 1)}
	select {
	case u.cmds <- c:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// snapshot returns the status and the channel that closes on its next change.
func (u *unit) snapshot() (control.ServiceStatus, <-chan struct{}) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.st, u.changed
}

// setState records a transition and wakes everyone waiting on the unit.
func (u *unit) setState(to control.State, reason string, mut func(st *control.ServiceStatus)) {
	u.mu.Lock()
	from := u.st.State
	u.st.State = to
	u.st.Reason = reason
	u.st.Since = time.Now()
	if mut != nil {
		mut(&u.st)
	}
	close(u.changed)
	u.changed = make(chan struct{})
	u.mu.Unlock()
	if from != to {
		if to == control.Fatal {
			u.log.Error("service failed: giving up", "reason", reason)
		} else {
			u.log.Debug("state", "from", from, "to", to, "reason", reason)
		}
	}
}

// satisfied reports whether dependents may start (ready longrun, or a
// oneshot that succeeded), and failed whether they never will.
func (u *unit) satisfied() (ok, failed bool, reason string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	reason = u.st.Reason
	switch {
	case u.svc.Type == services.Oneshot:
		ok = u.st.State == control.Exited && u.st.LastExit != nil && u.st.LastExit.Success()
	default:
		ok = u.st.State == control.Running && u.st.Ready
		if u.st.State == control.Exited {
			// A longrun that ended for good will never be ready.
			failed, reason = true, "exited"
			if u.st.LastExit != nil {
				reason = "exited: " + u.st.LastExit.String()
			}
		}
	}
	return ok, failed || u.st.State == control.Fatal, reason
}

// run is the unit's actor.
func (u *unit) run() {
	var (
		inst        instance
		readyc      <-chan error
		exitc       <-chan instanceExit
		timer       *time.Timer
		timerc      <-chan time.Time
		deadline    *time.Timer // a oneshot's timeout
		deadlinec   <-chan time.Time
		depc        chan error
		depCancel   context.CancelFunc = func() {}
		stopping    bool
		notReady    error
		stopWaiters []chan error
		plan        restartPlan
		startedAt   time.Time
	)
	spawn := func() {
		svc := u.service()
		var (
			in  instance
			err error
		)
		if svc.Plugin != "" {
			in, err = u.sup.startPlugin(svc)
		} else {
			in, err = u.sup.startProcess(context.Background(), svc, u.currentSinks())
		}
		startedAt = time.Now()
		notReady = nil
		if svc.Type == services.Oneshot && svc.Timeout > 0 && err == nil {
			deadline = time.NewTimer(svc.Timeout)
			deadlinec = deadline.C
		}
		if err != nil {
			u.log.Error("spawn failed", "err", err)
			ex := make(chan instanceExit, 1)
			ex <- instanceExit{status: plugins.ExitStatus{Code: 127}, err: fmt.Errorf("%w: %v", control.ErrSpawn, err)}
			exitc = ex
			return
		}
		inst, readyc, exitc = in, in.ready(), in.exited()
		u.mu.Lock()
		u.inst = in
		u.mu.Unlock()
		u.setState(control.Starting, "", func(st *control.ServiceStatus) {
			st.PID, st.Started, st.Ready = in.pid(), startedAt, false
		})
	}
	for {
		select {
		case c := <-u.cmds:
			switch c.kind {
			case cmdStart:
				if inst != nil || exitc != nil || depc != nil || timerc != nil || stopping {
					c.reply <- control.ErrAlreadyStarted
					continue
				}
				if u.sup.shuttingDown.Load() {
					c.reply <- control.ErrShuttingDown
					continue
				}
				plan = restartPlan{}
				svc := u.service()
				if len(svc.After) > 0 {
					var ctx context.Context
					ctx, depCancel = context.WithCancel(context.Background())
					depc = make(chan error, 1)
					go func(ch chan error) { ch <- u.sup.waitDeps(ctx, svc) }(depc)
					u.setState(control.Starting, "waiting for "+joinNames(svc.After), func(st *control.ServiceStatus) { st.PID = 0 })
				} else {
					spawn()
				}
				c.reply <- nil
			case cmdStop:
				switch {
				case inst != nil || exitc != nil:
					// exitc without inst: a failed spawn whose exit is
					// still queued; it ends as a stop.
					stopWaiters = append(stopWaiters, c.reply)
					if !stopping {
						stopping = true
						svc := u.service()
						u.setState(control.Stopping, "", nil)
						if inst != nil {
							inst.terminate(svc.StopSignal, svc.StopTimeout)
						}
					}
				case depc != nil || timerc != nil:
					depCancel()
					depc = nil
					if timer != nil {
						timer.Stop()
					}
					timerc = nil
					u.setState(control.Stopped, "", nil)
					c.reply <- nil
				default:
					c.reply <- control.ErrNotRunning
				}
			case cmdSignal:
				if inst == nil {
					c.reply <- control.ErrNotRunning
					continue
				}
				// A plugin turns SIGHUP into Reload, which may take a while:
				// never inside the actor.
				go func(in instance, c unitCmd) { c.reply <- in.signal(c.sig) }(inst, c)
			case cmdReload:
				if inst == nil {
					c.reply <- control.ErrNotRunning
					continue
				}
				go func(in instance, c unitCmd, sig syscall.Signal) { c.reply <- in.reload(c.ctx, sig) }(inst, c, u.service().ReloadSignal)
			case cmdQuit:
				if inst != nil || exitc != nil || stopping {
					c.reply <- control.ErrAlreadyStarted
					continue
				}
				depCancel()
				if timer != nil {
					timer.Stop()
				}
				c.reply <- nil
				return
			}
		case <-deadlinec:
			deadlinec = nil
			if inst != nil && !stopping {
				svc := u.service()
				notReady = fmt.Errorf("timed out after %s", svc.Timeout)
				u.log.Error("oneshot timed out: stopping it", "timeout", svc.Timeout)
				inst.terminate(svc.StopSignal, svc.StopTimeout)
			}
		case err := <-depc:
			depc = nil
			if err != nil {
				u.setState(control.Fatal, err.Error(), nil)
				u.sup.fatal(u)
				continue
			}
			spawn()
		case <-timerc:
			timerc = nil
			spawn()
		case err := <-readyc:
			readyc = nil
			if err != nil {
				notReady = err
				u.log.Error("not ready", "err", err)
				svc := u.service()
				inst.terminate(svc.StopSignal, svc.StopTimeout)
				continue
			}
			if !stopping {
				u.setState(control.Running, "", func(st *control.ServiceStatus) { st.Ready = true })
			}
		case ex := <-exitc:
			inst, readyc, exitc = nil, nil, nil
			if deadline != nil {
				deadline.Stop()
				deadline, deadlinec = nil, nil
			}
			now := time.Now()
			status := ex.status
			u.mu.Lock()
			u.inst = nil
			u.mu.Unlock()
			record := func(st *control.ServiceStatus) {
				st.PID, st.Ready, st.Stopped, st.LastExit = 0, false, now, &status
			}
			if stopping {
				stopping = false
				u.setState(control.Stopped, "", record)
				for _, w := range stopWaiters {
					w <- nil
				}
				stopWaiters = nil
				continue
			}
			svc := u.service()
			failed := ex.err != nil || !status.Success() || notReady != nil
			why := describeExit(ex, notReady)
			if failed {
				u.log.Warn("exited", "status", why, "uptime", now.Sub(startedAt).Round(time.Millisecond))
			} else {
				u.log.Info("exited", "status", why)
			}
			if svc.Type == services.Oneshot && !failed {
				u.setState(control.Exited, "", func(st *control.ServiceStatus) { record(st); st.Ready = true })
				continue
			}
			restart := svc.Restart == services.RestartAlways || (svc.Restart == services.RestartOnFailure && failed)
			if !restart {
				if failed && svc.Type == services.Oneshot {
					u.setState(control.Fatal, why, record)
					u.sup.fatal(u)
				} else {
					u.setState(control.Exited, "", record)
					if failed && svc.Essential {
						u.sup.fatal(u)
					}
				}
				continue
			}
			delay, giveUp := plan.next(svc, now.Sub(startedAt), now)
			if giveUp {
				reason := "Exited too quickly (process log may have details)"
				if errors.Is(ex.err, control.ErrSpawn) {
					reason = ex.err.Error()
				}
				u.setState(control.Fatal, reason, record)
				u.sup.fatal(u)
				continue
			}
			u.mu.Lock()
			u.st.Restarts++
			u.mu.Unlock()
			if delay <= 0 {
				u.mu.Lock()
				record(&u.st)
				u.mu.Unlock()
				spawn()
				continue
			}
			reason := "Exited too quickly (process log may have details)"
			if notReady != nil {
				reason = notReady.Error()
			}
			u.log.Info("restarting after backoff", "delay", delay)
			u.setState(control.Backoff, reason, record)
			timer = time.NewTimer(delay)
			timerc = timer.C
		}
	}
}

func describeExit(ex instanceExit, notReady error) string {
	switch {
	case ex.err != nil:
		return ex.err.Error()
	case notReady != nil:
		return notReady.Error()
	}
	return ex.status.String()
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}
