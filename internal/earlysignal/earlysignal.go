// Package earlysignal takes corral's signals while the program is still
// initializing: its init runs before the packages that take time to set up
// (plugins, the TOML decoder, the HTTP stack), so a SIGTERM sent right after
// exec (docker run, then docker stop at once) is queued instead of killing
// the process with the Go runtime's default action, or, as PID 1, being
// dropped by the kernel.
//
// It imports nothing of corral: its import path sorts before the rest, and
// Go initializes ready packages in import-path order.
package earlysignal

import (
	"os"
	"os/signal"
	"syscall"
)

// c receives every signal corral handles, from the start.
var c = make(chan os.Signal, 64)

// TakenVariable names a file to create once the signals are taken, for
// tests and start-up probes that must know when a signal can no longer be
// lost (before that moment, only the Go runtime's own start remains).
const TakenVariable = "CORRAL_SIGNALS_TAKEN"

func init() {
	signal.Notify(c, Caught()...)
	if p := os.Getenv(TakenVariable); p != "" {
		_ = os.WriteFile(p, nil, 0o600)
	}
}

// C returns the channel the signals are queued on; the engine reads it.
func C() <-chan os.Signal { return c }

// Caught returns the signals corral handles: 1..31 but SIGKILL and SIGSTOP
// (which cannot be caught), SIGCHLD (the reaper's) and SIGURG (the Go
// runtime's own preemption signal).
func Caught() []os.Signal {
	out := make([]os.Signal, 0, 31)
	for s := syscall.Signal(1); s <= 31; s++ {
		switch s {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGCHLD, syscall.SIGURG:
			continue
		}
		out = append(out, s)
	}
	return out
}
