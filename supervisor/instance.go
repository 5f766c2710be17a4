package supervisor

import (
	"context"
	"syscall"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
)

// instance is one run of a service: a process group, or a plugin value.
// The unit's actor owns it; its methods are called only from there, except
// that the channels are read by the actor's select.
type instance interface {
	// pid is the main process id (0 for plugins).
	pid() int
	// exited receives once when the instance has ended. After terminate, it
	// is sent only once every process of the group is gone.
	exited() <-chan instanceExit
	// ready receives once: nil when ready, or why it never will be.
	ready() <-chan error
	// terminate asks the instance to stop, and kills it after timeout.
	terminate(sig syscall.Signal, timeout time.Duration)
	// signal sends sig to the main process (or reloads a plugin on SIGHUP).
	signal(sig syscall.Signal) error
	// reload reloads the instance: a signal for processes, Reload for plugins.
	reload(ctx context.Context, sig syscall.Signal) error
}

// instanceExit is how an instance ended.
type instanceExit struct {
	status plugins.ExitStatus
	// err is set when a plugin failed, or a start failed before running.
	err error
	// pid is the process that ended (its process group's id); 0 for plugins.
	pid int
}

// nopInstance is a oneshot with nothing to run (s6-rc's comment-only up
// file): it succeeds at once, without a process.
type nopInstance struct {
	exitc  chan instanceExit
	readyc chan error
}

func newNopInstance() *nopInstance {
	in := &nopInstance{exitc: make(chan instanceExit, 1), readyc: make(chan error, 1)}
	in.readyc <- nil
	in.exitc <- instanceExit{}
	return in
}

func (in *nopInstance) pid() int                                     { return 0 }
func (in *nopInstance) exited() <-chan instanceExit                  { return in.exitc }
func (in *nopInstance) ready() <-chan error                          { return in.readyc }
func (in *nopInstance) terminate(syscall.Signal, time.Duration)      {}
func (in *nopInstance) signal(syscall.Signal) error                  { return control.ErrNotRunning }
func (in *nopInstance) reload(context.Context, syscall.Signal) error { return control.ErrNotRunning }
