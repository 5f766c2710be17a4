package services

import (
	"fmt"
	"syscall"
	"time"
)

// Type says how a service runs.
type Type int

const (
	// Longrun is a process that is expected to stay up (the default).
	Longrun Type = iota
	// Oneshot runs to completion before what comes after it starts, like
	// s6-overlay's cont-init.d scripts. It succeeds by exiting 0.
	Oneshot
)

// String returns the TOML spelling of t.
func (t Type) String() string {
	switch t {
	case Longrun:
		return "longrun"
	case Oneshot:
		return "oneshot"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// RestartPolicy says when an exited service is started again.
type RestartPolicy int

const (
	// RestartAlways restarts on any exit (default for longruns).
	RestartAlways RestartPolicy = iota
	// RestartOnFailure restarts on a non-zero exit or death by signal.
	RestartOnFailure
	// RestartNever leaves the service down once it exits (default for oneshots).
	RestartNever
)

// String returns the TOML spelling of p.
func (p RestartPolicy) String() string {
	switch p {
	case RestartAlways:
		return "always"
	case RestartOnFailure:
		return "on-failure"
	case RestartNever:
		return "never"
	}
	return fmt.Sprintf("RestartPolicy(%d)", int(p))
}

// Service is one validated service definition.
type Service struct {
	// Name is unique in a Set; defaults to the file name without ".toml".
	Name string
	// File is the path of the file the service was read from.
	File string
	// Hash identifies the definition's content (after ${VAR} expansion); two
	// services with equal hashes are the same definition.
	Hash string

	// Type is Longrun or Oneshot.
	Type Type
	// Command is the argv to execute. A TOML string command becomes
	// {"/bin/sh", "-c", s}. Empty when Plugin is set.
	Command []string
	// Plugin names a registered plugin that runs in-process instead of a
	// command. Its settings are in the table named after the plugin.
	Plugin string
	// PluginConfig holds the plugin's table, decoded later by the plugin.
	PluginConfig *PluginConfig

	// Restart is the restart policy.
	Restart RestartPolicy
	// After lists services that must be ready (or, for oneshots, have
	// succeeded) before this one starts.
	After []string
	// Wants lists services to start after without requiring them: this one
	// starts once each is ready (or has succeeded), has failed, or is not
	// starting at all. Their failure never keeps it down.
	Wants []string
	// Autostart starts the service when corral starts or its file appears
	// (default true); false leaves it stopped until started on request
	// (supervisorctl start; s6's ./down file).
	Autostart bool
	// Finish runs after each exit of a longrun, as s6's ./finish does, with
	// four arguments appended: the exit code (256 when a signal killed the
	// process), the signal number (0), the service name and the process
	// group id. It has FinishTimeout (0: no limit), and its exit code 125
	// keeps the service down instead of restarting it.
	Finish        []string
	FinishTimeout time.Duration
	// StopCommand runs when a oneshot that succeeded is stopped (s6-rc's
	// down script); at shutdown, in reverse dependency order.
	StopCommand []string
	// StdoutTo names the service whose standard input reads this one's
	// standard output (s6's log/run, s6-rc's producer-for). corral holds the
	// pipe, so neither end's restart loses a line; the named service starts
	// first and stops last.
	StdoutTo string
	// ClearEnv starts the process with only PATH from the container's
	// environment (plus Env), as s6-overlay gives its services.
	ClearEnv bool

	// Env holds extra environment variables, ${VAR} already expanded from
	// the container's environment. The container's environment is inherited.
	Env map[string]string
	// User and Group to run as; empty means corral's own.
	User, Group string
	// Credential is User/Group resolved to ids; nil when neither is set.
	Credential *Credential
	// WorkingDir is the directory to start in; empty means corral's.
	WorkingDir string
	// StopSignal is sent to the process group to stop it (default SIGTERM).
	StopSignal syscall.Signal
	// StopTimeout is how long to wait after StopSignal before SIGKILL to the
	// group (default 10s).
	StopTimeout time.Duration
	// ReloadSignal is sent to the main process on reload (default SIGHUP).
	ReloadSignal syscall.Signal
	// Essential services going FATAL stop the container with a non-zero code.
	Essential bool
	// Timeout bounds a oneshot's run time (0: none).
	Timeout time.Duration

	// Ready says how to tell the service is ready; nil means ready once started.
	Ready *Ready
	// Backoff shapes the delay between restarts.
	Backoff Backoff
	// MaxRestarts within RestartWindow make the service FATAL (0: no limit;
	// default 10).
	MaxRestarts int
	// RestartWindow is the window MaxRestarts counts in (default 60s).
	RestartWindow time.Duration

	// Log says where the service's output goes.
	Log Log
}

// Ordering returns the services this one starts after: After, Wants and
// the reader of its output (StdoutTo).
func (s *Service) Ordering() []string {
	if len(s.Wants) == 0 && s.StdoutTo == "" {
		return s.After
	}
	out := make([]string, 0, len(s.After)+len(s.Wants)+1)
	out = append(append(out, s.After...), s.Wants...)
	if s.StdoutTo != "" {
		out = append(out, s.StdoutTo)
	}
	return out
}

// Credential is a resolved user and group.
type Credential struct {
	UID, GID uint32
	// Groups are the supplementary groups of the user.
	Groups []uint32
	// Home is the user's home directory, used for $HOME.
	Home string
}

// Ready is a readiness check. Exactly one of TCP, HTTP, Command or NotifyFD is set.
type Ready struct {
	// TCP is a host:port that accepts a connection once ready.
	TCP string
	// HTTP is a URL that answers 2xx once ready.
	HTTP string
	// Command is an argv that exits 0 once ready.
	Command []string
	// NotifyFD is the descriptor number on which the service writes a newline
	// once ready, like s6's notification-fd (0: unused).
	NotifyFD int
	// Timeout bounds the wait for readiness (default 60s); past it the start
	// counts as failed.
	Timeout time.Duration
	// Interval is the polling period of TCP, HTTP and Command checks (default 100ms).
	Interval time.Duration
}

// Backoff shapes restart delays: Initial, then times Multiplier up to Max;
// the delay goes back to Initial once the service stayed up for Reset.
type Backoff struct {
	Initial    time.Duration // default 0s: the first restart is immediate
	Max        time.Duration // default 30s
	Multiplier float64       // default 2
	Reset      time.Duration // default 10s
	// Min is the delay used after the first restart when Initial is 0
	// (default 100ms), so that a crash loop never spins.
	Min time.Duration
}

// Log configures where a service's output goes.
type Log struct {
	// Prefix writes "[name] " before each console line (default true).
	Prefix bool
	// Console copies the output to corral's stdout/stderr (default true).
	Console bool
	// Files writes the output under the log directory (default true).
	Files bool
	// MaxSize is the size in bytes at which the current file rotates.
	MaxSize int64
	// Keep is how many rotated archives are kept.
	Keep int
	// Timestamps prefixes each file line with an RFC 3339 nanosecond time.
	Timestamps bool
}
