package plugins

import (
	"fmt"
	"syscall"
)

// ExitStatus is how a process ended, as reported by wait4.
type ExitStatus struct {
	// Code is the exit code when the process exited normally.
	Code int `json:"code"`
	// Signal is the signal that killed it, or 0.
	Signal syscall.Signal `json:"signal"`
}

// FromWaitStatus converts a raw wait status.
func FromWaitStatus(ws syscall.WaitStatus) ExitStatus {
	if ws.Signaled() {
		return ExitStatus{Signal: ws.Signal()}
	}
	return ExitStatus{Code: ws.ExitStatus()}
}

// Success reports a clean exit with code 0.
func (e ExitStatus) Success() bool { return e.Signal == 0 && e.Code == 0 }

// ShellCode is the code a shell would report: the exit code, or 128+signal.
func (e ExitStatus) ShellCode() int {
	if e.Signal != 0 {
		return 128 + int(e.Signal)
	}
	return e.Code
}

// String reads "exit status 3" or "signal: terminated".
func (e ExitStatus) String() string {
	if e.Signal != 0 {
		return "signal: " + e.Signal.String()
	}
	return fmt.Sprintf("exit status %d", e.Code)
}
