package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"
)

// Plugin is an in-process service, named by a service file's `plugin` key
// instead of a command. Plugins are compiled in and registered by name (see
// Register); plugins/all picks the built-in set.
//
// Lifecycle, driven by the supervisor:
//
//	factory() -> decode the plugin's TOML table into the returned value
//	  -> Provision(host)   validate only: no I/O, no goroutines (optional, Provisioner)
//	  -> Start(ctx)        returns once running; long work goes in host.Go
//	  -> Reload(ctx)*      optional (Reloader); on `supervisorctl signal HUP` or reload requests
//	  -> Stop(ctx)         ctx carries the deadline; must be safe to call twice
//
// A plugin fails by returning an error from Start, or by an error or panic in
// a goroutine started with Host.Go. A failed plugin is stopped and, by the
// service's restart policy, started again from a fresh factory value with
// backoff, and goes FATAL past its limit, exactly like a process.
//
// Plugins hold no package-level state: two instances may run at once.
type Plugin interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// ErrDone, returned (or wrapped) by Start or a function run by Host.Go,
// ends the plugin for good rather than failing it: the service stops and
// stays EXITED, whatever its restart policy, with the error's text as its
// reason, until it is started again (supervisorctl start). The serf plugin
// ends so on `serf leave`.
var ErrDone = errors.New("done")

// Provisioner is implemented by plugins that validate their settings after
// decoding. Provision must not do I/O or start goroutines; its error is
// reported like a bad service file, naming the file.
type Provisioner interface {
	Provision(host Host) error
}

// Reloader is implemented by plugins that can reload in place.
type Reloader interface {
	Reload(ctx context.Context) error
}

// EventHandler is implemented by plugins that react to bus events. The
// supervisor subscribes it to the topics it names before Start, so no event
// published after Start is missed; the last event of each topic is replayed.
type EventHandler interface {
	// Topics lists the bus topics to receive.
	Topics() []string
	// HandleEvent is called from one goroutine per plugin, in order.
	HandleEvent(ev Event)
}

// StatusReporter is implemented by plugins that have more to say in
// `supervisorctl status` than "running".
type StatusReporter interface {
	// Status returns a one-line description (shown after the state) and
	// details for `status --json`.
	Status() PluginStatus
}

// PluginStatus is what a plugin reports about itself.
type PluginStatus struct {
	// Description replaces "pid N, uptime ..." in `supervisorctl status`.
	Description string
	// Ready tells whether the plugin considers itself ready.
	Ready bool
	// Detail is added to `status --json` under "plugin".
	Detail map[string]any
}

// MetricsSource is implemented by plugins that export metrics on /metrics.
type MetricsSource interface {
	Metrics() []Metric
}

// Metric is one sample in Prometheus text exposition.
type Metric struct {
	// Name is the full metric name, e.g. "corral_logforward_lines_sent_total".
	Name string
	// Help is the HELP text.
	Help string
	// Type is "counter" or "gauge".
	Type string
	// Labels are added to the sample; "service" is added by the supervisor.
	Labels map[string]string
	// Value is the sample value.
	Value float64
}

// Host is what the supervisor offers a plugin instance.
type Host interface {
	// Name is the service name of this plugin instance.
	Name() string
	// Logger is a logger tagged with the service name.
	Logger() *slog.Logger
	// Bus is the in-process event bus shared by all plugins.
	Bus() *Bus
	// Go runs fn in a supervised goroutine. An error return (other than
	// context.Canceled after Stop) or a panic marks the plugin failed. ctx is
	// cancelled when the plugin stops.
	Go(fn func(ctx context.Context) error)
	// Exec runs a command to completion through the reaper (plugins must
	// never use os/exec: corral is the only reaper of its children).
	Exec(ctx context.Context, cmd ExecSpec) (ExecResult, error)
	// ReloadService asks the supervisor to reload another service: its
	// reload_signal for a process, Reload for a plugin.
	ReloadService(ctx context.Context, name string) error
	// LogDir is the root directory of service log files.
	LogDir() string
	// Hostname is the container's host name.
	Hostname() string
	// LookupEnv reads the container's environment, the one corral's
	// services inherit (use it, never os.Getenv, so tests and the engine
	// agree). Expand(s, host.LookupEnv) expands ${VAR} in a setting.
	LookupEnv(key string) (string, bool)
}

// ExecSpec is a command run by Host.Exec.
type ExecSpec struct {
	// Argv is the command and its arguments; Argv[0] is looked up in PATH.
	Argv []string
	// Env is added to the inherited environment ("K=V").
	Env []string
	// Dir is the working directory; empty means corral's.
	Dir string
	// Stdin, when set, is written to the command's standard input.
	Stdin []byte
	// Timeout kills the command's process group when it runs longer (0: none).
	Timeout time.Duration
}

// ExecResult is the outcome of Host.Exec.
type ExecResult struct {
	// Output holds stdout and stderr, interleaved as written (capped at 1 MiB).
	Output []byte
	// Status is how the process ended.
	Status ExitStatus
}

// Factory returns a new, zero-configured plugin value. The supervisor decodes
// the service file's plugin table into it (so it should be a struct pointer
// with `toml` tags), then provisions and starts it.
type Factory func() Plugin

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a plugin kind available under name. It is meant to be
// called from a plugin package's init; registering a name twice panics, as
// that is a programming error found at start-up.
func Register(name string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("corral: plugin %q registered twice", name))
	}
	registry[name] = f
}

// Lookup returns the factory registered under name.
func Lookup(name string) (Factory, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	f, ok := registry[name]
	return f, ok
}

// Names returns the registered plugin names, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return slices.Sorted(maps.Keys(registry))
}
