package supervisor

import (
	"context"
	"errors"
	"syscall"
)

// Errors returned by Controller methods, in supervisord's words; check them
// with errors.Is.
var (
	ErrNoSuchService  = errors.New("no such process")
	ErrNotRunning     = errors.New("not running")
	ErrAlreadyStarted = errors.New("already started")
	ErrSpawn          = errors.New("spawn error")
	ErrShuttingDown   = errors.New("shutting down")
)

// Controller is what the control server (and so supervisorctl) drives. The
// Supervisor implements it.
type Controller interface {
	// Status returns the given services, or all in start order when names is
	// empty. An unknown name is an error wrapping ErrNoSuchService.
	Status(names ...string) ([]ServiceStatus, error)
	// Start starts a stopped service and waits until it is RUNNING (ready)
	// or has failed.
	Start(ctx context.Context, name string) error
	// Stop stops a service and waits until its process group is gone.
	Stop(ctx context.Context, name string) error
	// Restart is Stop then Start.
	Restart(ctx context.Context, name string) error
	// Signal sends sig to a running service's main process.
	Signal(name string, sig syscall.Signal) error
	// Reread reads the services directory and says what changed, changing nothing.
	Reread() (ConfigDiff, error)
	// Update applies what Reread would report.
	Update(ctx context.Context) (ConfigDiff, error)
	// Shutdown starts corral's orderly shutdown and returns at once.
	Shutdown()
	// LogFile returns the path of a service's current log file for stream.
	LogFile(name string, stream Stream) (string, error)
	// Metrics returns the engine's and the plugins' metrics.
	Metrics() []Metric
}

// ConfigDiff says how the services directory differs from what runs.
type ConfigDiff struct {
	Added   []string `json:"added"`
	Changed []string `json:"changed"`
	Removed []string `json:"removed"`
	// Errors are the bad files, each naming file, line and key; the services
	// they define keep their running version.
	Errors []string `json:"errors"`
}
