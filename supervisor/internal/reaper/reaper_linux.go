// Package reaper is the process's only caller of wait4(-1): it reaps every
// child, corral's own and orphans re-parented to it, and hands each exit to
// whoever spawned that pid. There is one reaper per process by construction:
// its state is this package's, and every child corral starts goes through
// Spawn, which subscribes to the new pid while the reaper is held, so a child
// that exits at once is never reaped before its subscriber exists (nothing
// else waits: no exec.Cmd.Wait, no os/exec in the engine).
package reaper

import (
	"errors"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/corralhq/corral/plugins"
)

var (
	// mu is held across fork+subscribe and across each wait4+dispatch.
	mu      sync.Mutex
	waiters = map[int]chan plugins.ExitStatus{}
	reaped  atomic.Uint64
	// anyc is closed and replaced after every batch of reaped processes, so
	// that process-group watchers can re-check their group.
	anyMu sync.Mutex
	anyc  = make(chan struct{})

	startOnce sync.Once
	sigc      = make(chan os.Signal, 1)
)

// fork runs start (a function that starts one process and returns its pid)
// with the reaper held, and subscribes to the new pid before any wait4 can
// see it. The returned channel receives the process's exit exactly once.
func fork(start func() (int, error)) (int, <-chan plugins.ExitStatus, error) {
	mu.Lock()
	defer mu.Unlock()
	pid, err := start()
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan plugins.ExitStatus, 1)
	waiters[pid] = ch
	return pid, ch, nil
}

// Start makes the reaper reap on every SIGCHLD for the rest of the
// process's life; calls after the first do nothing. It drains once at
// start, so children that exited before are reaped too.
func Start() {
	startOnce.Do(func() {
		signal.Notify(sigc, syscall.SIGCHLD)
		go func() {
			Reap()
			for range sigc {
				Reap()
			}
		}()
	})
}

// Reap drains every exited child with wait4(-1, WNOHANG) and dispatches the
// statuses. It is safe to call at any time.
func Reap() {
	n := 0
	for {
		mu.Lock()
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			mu.Unlock()
			continue
		}
		if err != nil || pid <= 0 {
			mu.Unlock()
			break
		}
		if ch, ok := waiters[pid]; ok {
			delete(waiters, pid)
			ch <- plugins.FromWaitStatus(ws)
		}
		mu.Unlock()
		reaped.Add(1)
		n++
	}
	if n > 0 {
		anyMu.Lock()
		close(anyc)
		anyc = make(chan struct{})
		anyMu.Unlock()
	}
}

// Reaped returns how many processes have been reaped so far.
func Reaped() uint64 { return reaped.Load() }

// Changed returns a channel that is closed after the next batch of reaped
// processes.
func Changed() <-chan struct{} {
	anyMu.Lock()
	defer anyMu.Unlock()
	return anyc
}
