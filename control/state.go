package control

import "fmt"

// State is a service's state, named as supervisord names them so that
// `supervisorctl status` reads the same.
type State int

const (
	// Stopped: not started yet, or stopped on request.
	Stopped State = iota
	// Starting: started, not yet ready.
	Starting
	// Running: up and ready.
	Running
	// Backoff: exited, waiting to be restarted.
	Backoff
	// Stopping: stop requested, waiting for the process group to end.
	Stopping
	// Exited: ended by itself and not restarted (a finished oneshot, or restart = never).
	Exited
	// Fatal: gave up (restart limit reached, spawn error, failed dependency).
	Fatal
)

var stateNames = [...]string{"STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL"}

// String returns the supervisord name of s.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Up reports whether s has a live process or plugin.
func (s State) Up() bool { return s == Starting || s == Running || s == Stopping }

// ParseState is the inverse of State.String.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}
