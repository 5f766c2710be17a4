package supervisor

import (
	"os"
	"syscall"

	"github.com/corralhq/corral/internal/earlysignal"
)

// What corral does with each signal, as PID 1 or not (the README's table):
//
//	SIGTERM, SIGINT     orderly shutdown (the main command gets SIGTERM first)
//	SIGHUP              reread and apply the services directory, and pass it on
//	SIGCHLD             reap (never passed on)
//	SIGPIPE             ignored: corral's own write to a closed console raises
//	                    it, and passing that on would kill the main command
//	SIGURG, SIGPROF     ignored: the Go runtime's own (preemption, profiling)
//	SIGKILL, SIGSTOP    cannot be caught
//	every other one     passed on to the main command; ignored without one
//
// "Every other one" is SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE,
// SIGUSR1, SIGSEGV, SIGUSR2, SIGALRM, SIGSTKFLT, SIGCONT, SIGTSTP,
// SIGTTIN, SIGTTOU, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGWINCH, SIGIO, SIGPWR and
// SIGSYS: sent with kill, none of them can kill or stop corral. (SIGPROF is
// taken too, but the Go runtime keeps it for its profiler: it never
// reaches corral's code, and is not passed on.)
// (A fault in corral's own code is not sent with kill, and still crashes
// it, as it should.)

// CaughtSignals returns the signals corral handles (package earlysignal
// takes them in cmd/corral; Run takes them itself when Options.Signals is
// nil).
func CaughtSignals() []os.Signal { return earlysignal.Caught() }

// passedOn reports whether sig goes to the main command.
func passedOn(sig syscall.Signal) bool {
	return sig != syscall.SIGPIPE && !shutdownSignal(sig)
}

// shutdownSignal reports whether sig starts the orderly shutdown.
func shutdownSignal(sig syscall.Signal) bool {
	return sig == syscall.SIGTERM || sig == syscall.SIGINT
}
