package control

import "errors"

// Errors an engine returns for operations on services, in supervisord's
// words; the server maps each to a Code. Check them with errors.Is.
var (
	// ErrNoSuchService: no service has that name.
	ErrNoSuchService = errors.New("no such process")
	// ErrNotRunning: stop or signal of a service that is not up.
	ErrNotRunning = errors.New("not running")
	// ErrAlreadyStarted: start of a service that is already up.
	ErrAlreadyStarted = errors.New("already started")
	// ErrSpawn: the service could not be started.
	ErrSpawn = errors.New("spawn error")
	// ErrAbnormal: the service exited while starting.
	ErrAbnormal = errors.New("abnormal termination")
	// ErrShuttingDown: corral is shutting down.
	ErrShuttingDown = errors.New("shutting down")
)

// ConfigDiff says how the services directory differs from what runs.
type ConfigDiff struct {
	Added   []string `json:"added"`
	Changed []string `json:"changed"`
	Removed []string `json:"removed"`
	// Errors are the bad files, each naming file, line and key; the services
	// they define keep their running version.
	Errors []string `json:"errors"`
}
