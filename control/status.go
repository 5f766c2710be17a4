package control

import (
	"time"

	"github.com/corralhq/corral/plugins"
)

// ServiceStatus is a snapshot of one service for `supervisorctl status`,
// status --json and /metrics.
type ServiceStatus struct {
	// Name of the service.
	Name string `json:"name"`
	// Group is the service's group for supervisorctl's "group:name" (= Name).
	Group string `json:"group"`
	// State is the supervisord-style state.
	State State `json:"-"`
	// StateName is State.String(), for JSON.
	StateName string `json:"state"`
	// Type is "longrun", "oneshot" or "plugin".
	Type string `json:"type"`
	// Plugin is the plugin name for plugin services.
	Plugin string `json:"plugin,omitempty"`
	// PID of the running process (0 when none, and for plugins).
	PID int `json:"pid"`
	// Ready reports the readiness check passed (or none is configured and it runs).
	Ready bool `json:"ready"`
	// Since is when the service entered State.
	Since time.Time `json:"since"`
	// Started is when the current or last process started (zero if never).
	Started time.Time `json:"started"`
	// Stopped is when the last process ended (zero if never).
	Stopped time.Time `json:"stopped"`
	// Restarts counts restarts by policy since corral started.
	Restarts int `json:"restarts"`
	// LastExit is how the last process ended (nil if none has).
	LastExit *plugins.ExitStatus `json:"last_exit,omitempty"`
	// Reason explains BACKOFF and FATAL, or carries a plugin's description.
	Reason string `json:"reason,omitempty"`
	// ConfigError is the error of a service file that failed to reload; the
	// previous definition keeps running.
	ConfigError string `json:"config_error,omitempty"`
	// Detail holds a plugin's own status details.
	Detail map[string]any `json:"detail,omitempty"`
}
