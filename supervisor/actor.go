package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/services"
	"github.com/corralhq/corral/supervisor/output"
)

// unitHost is what a unit's actor needs from the rest of the engine. The
// Supervisor implements it; the state-machine tests use a fake.
type unitHost interface {
	// launch starts an instance of svc (a process group or a plugin) whose
	// output goes to sinks; argv, when set, replaces svc's command (a
	// oneshot's stop command, a finish script).
	launch(svc *services.Service, argv []string, sinks []output.LineSink) (instance, error)
	// openSinks returns the output sinks of svc.
	openSinks(svc *services.Service, log *slog.Logger) []output.LineSink
	// waitDeps returns once every service svc comes after is satisfied and
	// every one it wants is settled, or with why it never will be.
	waitDeps(ctx context.Context, svc *services.Service) error
	// shuttingDown reports whether corral is shutting down.
	shuttingDown() bool
	// gaveUp is told that the unit went FATAL, or that it failed for good.
	gaveUp(svc *services.Service, reason string)
}

// actor is the state of one unit, owned by its goroutine (loop): nothing
// else reads or writes these fields. It handles one event at a time, one
// method per event, and publishes what others may see through u.publish.
type actor struct {
	u     *unit
	host  unitHost
	svc   *services.Service
	sinks []output.LineSink

	// inst is the running instance (nil when none), with its channels.
	inst   instance
	readyc <-chan error
	exitc  <-chan instanceExit
	// finishc receives the end of a finish script or a stop command.
	finishc <-chan instanceExit
	// pending is the exit being finished (while finishc is set).
	pending *instanceExit
	// depc receives the end of the wait for dependencies.
	depc      chan error
	depCancel context.CancelFunc
	// retry fires the restart after a backoff delay; deadline, a oneshot's
	// timeout; scriptDeadline, the end of a finish script's or stop
	// command's time.
	retry          *time.Timer
	deadline       *time.Timer
	scriptDeadline *time.Timer
	script         instance
	// graceTimer ends the wait of a stop with grace (a draining logger).
	graceTimer *time.Timer

	stopping    bool
	stopWaiters []chan error
	// wantUp is a start asked for while stopping: the unit starts again
	// once the stop is done (s6-svc -d, then -u).
	wantUp bool
	// notReady is why the current instance failed its readiness check or timeout.
	notReady  error
	plan      restartPlan
	startedAt time.Time
	restarts  int
}

// loop is the unit's goroutine: it receives messages and instance events
// until msgQuit.
func (a *actor) loop() {
	defer close(a.u.done)
	for {
		select {
		case m := <-a.u.msgs:
			if quit := a.handle(m); quit {
				return
			}
		case err := <-a.depc:
			a.onDeps(err)
		case <-timerC(a.retry):
			a.onRetry()
		case <-timerC(a.deadline):
			a.onDeadline()
		case <-timerC(a.graceTimer):
			a.graceTimer = nil
			if a.inst != nil {
				a.inst.terminate(a.svc.StopSignal, a.svc.StopTimeout)
			}
		case <-timerC(a.scriptDeadline):
			a.scriptDeadline = nil
			a.u.log.Warn("script ran out of time: killing it")
			a.script.terminate(syscall.SIGKILL, 0)
		case err := <-a.readyc:
			a.onReady(err)
		case ex := <-a.exitc:
			a.onExit(ex)
		case ex := <-a.finishc:
			a.onFinished(ex)
		}
	}
}

// timerC is t's channel, or nil (never ready) for no timer.
func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

// handle answers one message; it reports whether the actor ends.
func (a *actor) handle(m message) (quit bool) {
	switch m.kind {
	case msgStart:
		m.reply <- a.onStart()
	case msgStop:
		a.onStop(m.reply, m.grace)
	case msgSignal:
		if a.inst == nil {
			m.reply <- control.ErrNotRunning
			return false
		}
		// A plugin turns SIGHUP into Reload, which may take a while: never
		// inside the actor.
		go func(in instance) { m.reply <- in.signal(m.sig) }(a.inst)
	case msgReload:
		if a.inst == nil {
			m.reply <- control.ErrNotRunning
			return false
		}
		go func(in instance, sig syscall.Signal) { m.reply <- in.reload(m.ctx, sig) }(a.inst, a.svc.ReloadSignal)
	case msgRedefine:
		m.reply <- a.onRedefine(m.svc)
	case msgInvalid:
		a.u.publish(func(st *control.ServiceStatus) { st.ConfigError = m.err.Error() })
		m.reply <- nil
	case msgCloseSinks:
		a.closeSinks()
		m.reply <- nil
	case msgQuit:
		if a.busy() {
			m.reply <- control.ErrAlreadyStarted
			return false
		}
		a.cancelWaits()
		a.closeSinks()
		m.reply <- nil
		return true
	}
	return false
}

// busy reports whether the unit has an instance, a script or a stop under way.
func (a *actor) busy() bool {
	return a.inst != nil || a.exitc != nil || a.finishc != nil || a.stopping
}

// waiting reports whether a start is pending (dependencies or backoff).
func (a *actor) waiting() bool { return a.depc != nil || a.retry != nil }

func (a *actor) onStart() error {
	if a.stopping && !a.host.shuttingDown() {
		a.wantUp = true
		return nil
	}
	if a.busy() || a.waiting() {
		return control.ErrAlreadyStarted
	}
	if a.host.shuttingDown() {
		return control.ErrShuttingDown
	}
	a.plan = restartPlan{}
	if len(a.svc.Ordering()) == 0 {
		a.spawn()
		return nil
	}
	var ctx context.Context
	ctx, a.depCancel = context.WithCancel(context.Background())
	a.depc = make(chan error, 1)
	go func(ch chan error, svc *services.Service) { ch <- a.host.waitDeps(ctx, svc) }(a.depc, a.svc)
	a.setState(control.Starting, "waiting for "+strings.Join(a.svc.Ordering(), ", "), func(st *control.ServiceStatus) { st.PID = 0 })
	return nil
}

func (a *actor) onDeps(err error) {
	a.depc = nil
	if err != nil {
		a.giveUp(err.Error(), nil)
		return
	}
	a.spawn()
}

func (a *actor) onRetry() {
	a.retry = nil
	a.spawn()
}

// spawn starts a new instance; a spawn error is handled as an exit.
func (a *actor) spawn() {
	in, err := a.host.launch(a.svc, nil, a.sinks)
	a.startedAt = time.Now()
	a.notReady = nil
	if err != nil {
		a.u.log.Error("spawn failed", "err", err)
		ex := make(chan instanceExit, 1)
		ex <- instanceExit{status: plugins.ExitStatus{Code: 127}, err: fmt.Errorf("%w: %v", control.ErrSpawn, err)}
		a.exitc = ex
		return
	}
	if a.svc.Type == services.Oneshot && a.svc.Timeout > 0 {
		a.deadline = time.NewTimer(a.svc.Timeout)
	}
	a.inst, a.readyc, a.exitc = in, in.ready(), in.exited()
	a.u.mu.Lock()
	a.u.inst = in
	a.u.mu.Unlock()
	a.setState(control.Starting, "", func(st *control.ServiceStatus) {
		st.PID, st.Started, st.Ready = in.pid(), a.startedAt, false
	})
}

func (a *actor) onReady(err error) {
	a.readyc = nil
	if err != nil {
		a.notReady = err
		a.u.log.Error("not ready", "err", err)
		a.inst.terminate(a.svc.StopSignal, a.svc.StopTimeout)
		return
	}
	// A oneshot is settled only when it exits: until then it is starting.
	if !a.stopping && a.svc.Type != services.Oneshot {
		a.setState(control.Running, "", func(st *control.ServiceStatus) { st.Ready = true })
	}
}

func (a *actor) onDeadline() {
	a.deadline = nil
	if a.inst != nil && !a.stopping {
		a.notReady = fmt.Errorf("timed out after %s", a.svc.Timeout)
		a.u.log.Error("oneshot timed out: stopping it", "timeout", a.svc.Timeout)
		a.inst.terminate(a.svc.StopSignal, a.svc.StopTimeout)
	}
}

func (a *actor) onStop(reply chan error, grace time.Duration) {
	a.wantUp = false
	switch {
	case a.busy():
		// exitc without inst: a failed spawn whose exit is still queued;
		// it ends as a stop.
		a.stopWaiters = append(a.stopWaiters, reply)
		if !a.stopping {
			a.stopping = true
			a.setState(control.Stopping, "", nil)
			switch {
			case a.inst == nil || a.finishc != nil:
			case grace > 0:
				a.graceTimer = time.NewTimer(grace)
			default:
				a.inst.terminate(a.svc.StopSignal, a.svc.StopTimeout)
			}
		}
	case a.waiting():
		a.cancelWaits()
		a.setState(control.Stopped, "", nil)
		reply <- nil
	case a.svc.Type == services.Oneshot && len(a.svc.StopCommand) > 0 && a.succeeded():
		// A oneshot that succeeded is brought down by its stop command.
		a.stopWaiters = append(a.stopWaiters, reply)
		a.stopping = true
		a.setState(control.Stopping, "", nil)
		a.runScript(a.svc.StopCommand, nil)
	default:
		reply <- control.ErrNotRunning
	}
}

// succeeded reports whether the last run ended with exit code 0 and the
// unit has not been stopped since.
func (a *actor) succeeded() bool {
	st, _ := a.u.snapshot()
	return st.State == control.Exited && st.LastExit != nil && st.LastExit.Success()
}

// cancelWaits cancels a pending start (dependencies or backoff).
func (a *actor) cancelWaits() {
	if a.depCancel != nil {
		a.depCancel()
		a.depCancel = nil
	}
	a.depc = nil
	if a.retry != nil {
		a.retry.Stop()
		a.retry = nil
	}
}

func (a *actor) onExit(ex instanceExit) {
	a.inst, a.readyc, a.exitc = nil, nil, nil
	if a.graceTimer != nil {
		a.graceTimer.Stop()
		a.graceTimer = nil
	}
	if a.deadline != nil {
		a.deadline.Stop()
		a.deadline = nil
	}
	a.u.mu.Lock()
	a.u.inst = nil
	a.u.mu.Unlock()
	if len(a.svc.Finish) > 0 && a.svc.Type == services.Longrun && ex.err == nil {
		// s6's finish: told how the run ended, it has the last word on
		// whether the service comes back.
		a.runScript(a.svc.Finish, &ex)
		return
	}
	if errors.Is(ex.err, plugins.ErrDone) {
		// A plugin that ended for good: no failure, no restart.
		a.u.log.Info("ended", "reason", ex.err.Error())
		a.settle(instanceExit{status: ex.status, pid: ex.pid}, ex.err.Error())
		return
	}
	a.settle(ex, "")
}

// runScript runs a finish script (ex is the exit it is about) or a stop
// command (ex nil) as an instance of its own; onFinished continues.
func (a *actor) runScript(argv []string, ex *instanceExit) {
	if ex != nil {
		argv = append(append([]string(nil), argv...), finishArgs(a.svc.Name, ex)...)
	}
	a.pending = ex
	in, err := a.host.launch(a.svc, argv, a.sinks)
	if err != nil {
		a.u.log.Error("script failed to start", "command", argv[0], "err", err)
		done := make(chan instanceExit, 1)
		done <- instanceExit{status: plugins.ExitStatus{Code: 127}, err: err}
		a.finishc = done
		return
	}
	timeout := a.svc.StopTimeout
	if ex != nil {
		timeout = a.svc.FinishTimeout
	}
	if timeout > 0 {
		a.scriptDeadline = time.NewTimer(timeout)
	}
	a.script = in
	a.finishc = in.exited()
}

// finishArgs are the arguments s6-supervise gives ./finish: the exit code
// (256 when killed by a signal), the signal number, the service name and
// the process group id (the dead process's pid; 0 when unknown).
func finishArgs(name string, ex *instanceExit) []string {
	code := ex.status.Code
	if ex.status.Signal != 0 {
		code = 256
	}
	return []string{strconv.Itoa(code), strconv.Itoa(int(ex.status.Signal)), name, strconv.Itoa(ex.pid)}
}

// onFinished continues after a finish script or a stop command ended.
func (a *actor) onFinished(res instanceExit) {
	a.finishc, a.script = nil, nil
	if a.scriptDeadline != nil {
		a.scriptDeadline.Stop()
		a.scriptDeadline = nil
	}
	ex := a.pending
	a.pending = nil
	if ex == nil { // a oneshot's stop command
		if res.err != nil || !res.status.Success() {
			a.u.log.Warn("stop command failed", "status", describeExit(res, nil))
		}
		a.stopped()
		return
	}
	stayDown := ""
	if res.err == nil && res.status.Code == 125 && res.status.Signal == 0 {
		a.u.log.Info("finish exited 125: the service stays down")
		stayDown = "finish exited 125: down until started"
	}
	a.settle(*ex, stayDown)
}

// stopped ends a requested stop: every caller of stop is answered, and the
// unit is STOPPED, or starting again when a start came meanwhile.
func (a *actor) stopped() {
	a.stopping = false
	for _, w := range a.stopWaiters {
		w <- nil
	}
	a.stopWaiters = nil
	now := time.Now()
	if a.wantUp && !a.host.shuttingDown() {
		a.wantUp = false
		a.u.publish(func(st *control.ServiceStatus) { st.PID, st.Ready, st.Stopped = 0, false, now })
		if err := a.onStart(); err != nil {
			a.u.log.Warn("start after stop", "err", err)
		}
		return
	}
	a.wantUp = false
	a.setState(control.Stopped, "", func(st *control.ServiceStatus) { st.PID, st.Ready, st.Stopped = 0, false, now })
}

// settle decides what follows an exit: the end of a stop, success, a
// restart after backoff, or giving up. stayDown, when not empty, is why the
// service stays down whatever its restart policy (a finish script's 125, a
// plugin's ErrDone).
func (a *actor) settle(ex instanceExit, stayDown string) {
	now := time.Now()
	status := ex.status
	record := func(st *control.ServiceStatus) {
		st.PID, st.Ready, st.Stopped, st.LastExit = 0, false, now, &status
	}
	if a.stopping {
		a.u.publish(record)
		a.stopped()
		return
	}
	svc := a.svc
	failed := ex.err != nil || !status.Success() || a.notReady != nil
	why := describeExit(ex, a.notReady)
	if failed {
		a.u.log.Warn("exited", "status", why, "uptime", now.Sub(a.startedAt).Round(time.Millisecond))
	} else {
		a.u.log.Debug("exited", "status", why)
	}
	if svc.Type == services.Oneshot && !failed {
		a.setState(control.Exited, "", func(st *control.ServiceStatus) { record(st); st.Ready = true })
		return
	}
	restart := svc.Restart == services.RestartAlways || (svc.Restart == services.RestartOnFailure && failed)
	if a.host.shuttingDown() {
		restart = false // it ended on its own as corral stops: it stays ended
	}
	if stayDown != "" || !restart {
		switch {
		case failed && svc.Type == services.Oneshot:
			a.giveUp(why, record)
		case stayDown != "":
			a.setState(control.Exited, stayDown, record)
		default:
			a.setState(control.Exited, "", record)
			if failed && svc.Essential {
				a.host.gaveUp(svc, why)
			}
		}
		return
	}
	delay, limit := a.plan.next(svc, now.Sub(a.startedAt), now)
	if limit {
		reason := "Exited too quickly (process log may have details)"
		if errors.Is(ex.err, control.ErrSpawn) {
			reason = ex.err.Error()
		}
		a.giveUp(reason, record)
		return
	}
	a.restarts++
	restarts := a.restarts
	if delay <= 0 {
		a.u.publish(func(st *control.ServiceStatus) { record(st); st.Restarts = restarts })
		a.spawn()
		return
	}
	reason := "Exited too quickly (process log may have details)"
	if a.notReady != nil {
		reason = a.notReady.Error()
	}
	a.u.log.Info("restarting after backoff", "delay", delay)
	a.setState(control.Backoff, reason, func(st *control.ServiceStatus) { record(st); st.Restarts = restarts })
	a.retry = time.NewTimer(delay)
}

// giveUp tells the host, then makes the unit FATAL.
func (a *actor) giveUp(reason string, mut func(st *control.ServiceStatus)) {
	a.host.gaveUp(a.svc, reason)
	a.setState(control.Fatal, reason, mut)
}

// onRedefine replaces the definition of a stopped (or unchanged) unit.
func (a *actor) onRedefine(svc *services.Service) error {
	if a.svc.Hash != svc.Hash && (a.busy() || a.waiting()) {
		return fmt.Errorf("%s: redefined while running: %w", svc.Name, control.ErrAlreadyStarted)
	}
	if a.svc.Hash != svc.Hash || a.sinks == nil {
		a.closeSinks()
		a.sinks = a.host.openSinks(svc, a.u.log)
	}
	a.svc = svc
	a.u.mu.Lock()
	a.u.svc = svc
	a.u.st.ConfigError = ""
	a.u.mu.Unlock()
	return nil
}

// closeSinks flushes and closes the unit's sinks.
func (a *actor) closeSinks() {
	for _, s := range a.sinks {
		if err := s.Close(); err != nil {
			a.u.log.Warn("closing log sink", "err", err)
		}
	}
	a.sinks = nil
}

// setState publishes a transition.
func (a *actor) setState(to control.State, reason string, mut func(st *control.ServiceStatus)) {
	var from control.State
	a.u.publish(func(st *control.ServiceStatus) {
		from = st.State
		st.State, st.Reason, st.Since = to, reason, time.Now()
		if mut != nil {
			mut(st)
		}
	})
	if from == to {
		return
	}
	if to == control.Fatal {
		a.u.log.Error("service failed: giving up", "reason", reason)
	} else {
		a.u.log.Debug("state", "from", from, "to", to, "reason", reason)
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
