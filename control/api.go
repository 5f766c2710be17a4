package control

import (
	"time"
)

// Code is the outcome of one operation on one service, in supervisorctl's
// vocabulary. It travels as its string form.
type Code string

// The codes a Result or an ErrorResponse carries.
const (
	// CodeOK: the operation succeeded.
	CodeOK Code = "ok"
	// CodeNoSuchProcess: no service has that name.
	CodeNoSuchProcess Code = "no_such_process"
	// CodeNoSuchGroup: "name:*" named no service.
	CodeNoSuchGroup Code = "no_such_group"
	// CodeAlreadyStarted: start of a service that is already up.
	CodeAlreadyStarted Code = "already_started"
	// CodeNotRunning: stop or signal of a service that is not up.
	CodeNotRunning Code = "not_running"
	// CodeSpawnError: the service could not be started.
	CodeSpawnError Code = "spawn_error"
	// CodeAbnormal: the service exited while starting.
	CodeAbnormal Code = "abnormal_termination"
	// CodeBadSignal: the signal name or number is not valid.
	CodeBadSignal Code = "bad_signal"
	// CodeShuttingDown: corral is shutting down.
	CodeShuttingDown Code = "shutting_down"
	// CodeNoLogFile: the service has no log file (yet).
	CodeNoLogFile Code = "no_log_file"
	// CodeForbidden: the peer is neither root nor in the socket's group.
	CodeForbidden Code = "forbidden"
	// CodeBadRequest: the request itself is malformed.
	CodeBadRequest Code = "bad_request"
	// CodeFailed: any other failure; the message says what.
	CodeFailed Code = "failed"
)

// String returns the wire form of c.
func (c Code) String() string { return string(c) }

// StatusResponse answers GET /v1/status.
type StatusResponse struct {
	// Now is the server's clock when the snapshot was taken; uptimes are
	// computed against it, as supervisord does.
	Now time.Time `json:"now"`
	// Services are the services in start order.
	Services []ServiceStatus `json:"services"`
}

// NamesRequest is the body of start, stop and restart.
type NamesRequest struct {
	// Names are service names, "name:*" groups, or "all".
	Names []string `json:"names"`
	// NoWait, on start and stop, answers once the engine took the request
	// instead of once it is done (s6-svc without -w). Requests are taken
	// in the order they come.
	NoWait bool `json:"nowait,omitempty"`
}

// SignalRequest is the body of POST /v1/signal.
type SignalRequest struct {
	// Signal is a name ("HUP", "SIGHUP", any case) or a number ("1").
	Signal string `json:"signal"`
	// Names are service names, "name:*" groups, or "all".
	Names []string `json:"names"`
}

// Result is the outcome for one service, or for one name that matched none.
type Result struct {
	// Name is the service name, or the name as given when it matched none.
	Name string `json:"name"`
	// Code is the outcome.
	Code Code `json:"code"`
	// Error is the engine's message when Code is not CodeOK.
	Error string `json:"error,omitempty"`
}

// ResultsResponse answers start, stop, restart and signal, one Result per
// service acted on (a group or "all" that matched nothing gives none).
type ResultsResponse struct {
	// Results are in the order the services were acted on.
	Results []Result `json:"results"`
}

// PIDResponse answers GET /v1/pid.
type PIDResponse struct {
	// PID is corral's own process id.
	PID int `json:"pid"`
}

// VersionResponse answers GET /v1/version.
type VersionResponse struct {
	// Version is corral's version string.
	Version string `json:"version"`
}

// ErrorResponse is the body of every non-2xx answer.
type ErrorResponse struct {
	// Code classifies the error.
	Code Code `json:"code"`
	// Error is the message.
	Error string `json:"error"`
}
