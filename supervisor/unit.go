package supervisor

import (
	"context"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/services"
)

// unit is one supervised service. Its actor goroutine (actor.go) is the only
// owner of the service's lifecycle: the definition, the running instance,
// timers, the output sinks. Every other goroutine talks to it by message
// (send) and reads what it publishes (snapshot, status) under mu.
type unit struct {
	name string
	log  *slog.Logger
	msgs chan message
	// done is closed when the actor has ended (after msgQuit).
	done chan struct{}

	// mu guards the published view; only the actor writes it.
	mu      sync.Mutex
	st      control.ServiceStatus
	svc     *services.Service // the definition in force
	inst    instance          // the running instance, for plugin status and metrics
	changed chan struct{}     // closed and replaced on every publication
}

// msgKind names what a message asks of the actor.
type msgKind int

const (
	// msgStart starts a stopped unit (after its dependencies).
	msgStart msgKind = iota
	// msgStop stops the unit and replies once its process group is gone.
	msgStop
	// msgSignal sends sig to the running instance.
	msgSignal
	// msgReload reloads the running instance.
	msgReload
	// msgRedefine replaces the definition (svc): new sinks, no config error.
	// The unit is stopped, or the definition is unchanged.
	msgRedefine
	// msgInvalid records that the unit's file became invalid (err); the
	// running definition stays.
	msgInvalid
	// msgCloseSinks flushes and closes the output sinks (at exit).
	msgCloseSinks
	// msgQuit ends the actor of a stopped unit that was removed.
	msgQuit
)

// message is one request to a unit's actor; reply receives exactly one error.
type message struct {
	kind msgKind
	// grace, on msgStop, lets the instance end by itself for that long
	// before it is sent its stop signal (a logger draining its pipe).
	grace time.Duration
	sig   syscall.Signal
	svc   *services.Service
	err   error
	ctx   context.Context
	reply chan error
}

// newUnit creates the unit for svc and starts its actor; the unit is
// STOPPED until it receives msgStart.
func newUnit(h unitHost, log *slog.Logger, svc *services.Service) *unit {
	u := &unit{
		name:    svc.Name,
		log:     log.With("service", svc.Name),
		msgs:    make(chan message),
		done:    make(chan struct{}),
		svc:     svc,
		changed: make(chan struct{}),
		st:      control.ServiceStatus{Name: svc.Name, Group: svc.Name, State: control.Stopped, Since: time.Now()},
	}
	a := &actor{u: u, host: h, svc: svc}
	a.sinks = h.openSinks(svc, u.log)
	go a.loop()
	return u
}

// send delivers a message to the actor and waits for its reply, or for ctx.
func (u *unit) send(ctx context.Context, m message) error {
	m.reply = make(chan error, 1)
	if err := u.post(ctx, m); err != nil {
		return err
	}
	select {
	case err := <-m.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// post delivers a message to the actor without waiting for its reply (the
// reply channel is buffered: nothing need wait on it).
func (u *unit) post(ctx context.Context, m message) error {
	m.ctx = ctx
	if m.reply == nil {
		m.reply = make(chan error, 1)
	}
	select {
	case u.msgs <- m:
		return nil
	case <-u.done:
		return control.ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
}

// service returns the definition in force.
func (u *unit) service() *services.Service {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.svc
}

// snapshot returns the status and the channel that closes on its next change.
func (u *unit) snapshot() (control.ServiceStatus, <-chan struct{}) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.st, u.changed
}

// publish applies mut to the published view and wakes everyone waiting on
// the unit. Only the actor calls it.
func (u *unit) publish(mut func(st *control.ServiceStatus)) {
	u.mu.Lock()
	mut(&u.st)
	close(u.changed)
	u.changed = make(chan struct{})
	u.mu.Unlock()
}

// satisfied reports whether services that come after this one may start
// (a ready longrun, or a oneshot that succeeded), and failed whether they
// never will. settled reports whether services that merely want this one
// may start: it is satisfied, or neither starting nor stopping (it failed,
// is backing off after a failure, exited, or is stopped).
func (u *unit) satisfied() (ok, failed, settled bool, reason string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	st := u.st
	reason = st.Reason
	switch {
	case u.svc.Type == services.Oneshot:
		ok = st.State == control.Exited && st.LastExit != nil && st.LastExit.Success()
	default:
		ok = st.State == control.Running && st.Ready
		if st.State == control.Exited {
			// A longrun that ended for good will never be ready.
			failed, reason = true, "exited"
			if st.LastExit != nil {
				reason = "exited: " + st.LastExit.String()
			}
		}
	}
	failed = failed || st.State == control.Fatal
	settled = ok || (st.State != control.Starting && st.State != control.Stopping)
	return ok, failed, settled, reason
}
