package main

import (
	"github.com/corralhq/corral/control"
)

// op says which verb produced results, since supervisorctl's exit codes
// for the same fault differ between verbs.
type op int

const (
	opStart op = iota
	opStop
	opSignal
)

// printResults prints one line per result as supervisorctl's _startresult,
// _stopresult and _signalresult do ("name: started", "name: ERROR (not
// running)") and returns the exit code of the last failure that counts
// (supervisorctl's set_exitstatus_from_xmlrpc_fault: start ignores "already
// started", stop ignores "not running"; spawn errors and, for signal, "not
// running" give 7; the rest 1; an unknown group given to start gives 2).
func (c *ctl) printResults(res []control.Result, success string, o op) int {
	code := exitSuccess
	for _, r := range res {
		msg, rc := resultLine(r, success, o)
		c.println(msg)
		if rc != exitSuccess {
			code = rc
		}
	}
	return code
}

// resultLine is the line and exit code of one result.
func resultLine(r control.Result, success string, o op) (string, int) {
	e := func(what string) string { return r.Name + ": ERROR (" + what + ")" }
	switch r.Code {
	case control.CodeOK:
		return r.Name + ": " + success, exitSuccess
	case control.CodeNoSuchProcess:
		return e("no such process"), exitGeneric
	case control.CodeNoSuchGroup:
		if o == opStart {
			return e("no such group"), exitInvalidArgs
		}
		return e("no such group"), exitGeneric
	case control.CodeAlreadyStarted:
		return e("already started"), exitSuccess
	case control.CodeSpawnError:
		return e("spawn error"), exitNotRunning
	case control.CodeAbnormal:
		return e("abnormal termination"), exitNotRunning
	case control.CodeNotRunning:
		switch o {
		case opStop:
			return e("not running"), exitSuccess
		case opSignal:
			return e("not running"), exitNotRunning
		}
		return e("not running"), exitNotRunning
	case control.CodeBadSignal:
		return e("bad signal name"), exitGeneric
	case control.CodeShuttingDown:
		return e("shutting down"), exitGeneric
	}
	if r.Error == "" {
		r.Error = string(r.Code)
	}
	return e(r.Error), exitGeneric
}
