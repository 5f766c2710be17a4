package server

import (
	"context"
	"syscall"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/supervisor/output"
)

// Controller is what the server drives: corral's engine implements it.
// Errors wrap control's sentinel errors (control.ErrNoSuchService...), which
// the server turns into the supervisorctl codes.
type Controller interface {
	// Status returns the given services, or all in start order when names is
	// empty. An unknown name is an error wrapping control.ErrNoSuchService.
	Status(names ...string) ([]control.ServiceStatus, error)
	// Start starts a stopped service and waits until it is RUNNING (ready)
	// or has failed.
	Start(ctx context.Context, name string) error
	// Stop stops a service and waits until its process group is gone.
	Stop(ctx context.Context, name string) error
	// Request asks for a service to be started (up) or stopped and returns
	// once the engine took the request, in order with other requests.
	Request(ctx context.Context, name string, up bool) error
	// Restart is Stop then Start.
	Restart(ctx context.Context, name string) error
	// Signal sends sig to a running service's main process.
	Signal(name string, sig syscall.Signal) error
	// Reread reads the services directory and says what changed, changing nothing.
	Reread() (control.ConfigDiff, error)
	// Update applies what Reread would report.
	Update(ctx context.Context) (control.ConfigDiff, error)
	// Shutdown starts corral's orderly shutdown and returns at once.
	Shutdown()
	// LogFile returns the path of a service's current log file for stream.
	LogFile(name string, stream output.Stream) (string, error)
	// Metrics returns the engine's and the plugins' metrics.
	Metrics() []plugins.Metric
}
