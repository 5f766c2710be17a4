package supervisor

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

// Reaper is the process's only caller of wait4(-1). It reaps every child,
// its own and orphans re-parented to it, and hands each exit to whoever
// subscribed to that pid. Subscription happens inside Spawn while the reaper
// is held, so a child that exits at once is never reaped before its
// subscriber exists (no race with exec.Cmd.Wait: nothing else waits).
type Reaper struct {
	// mu is held across fork+subscribe and across each wait4+dispatch.
	mu      sync.Mutex
	waiters map[int]chan ExitStatus
	reaped  atomic.Uint64
	// any is closed and replaced after every batch of reaped processes, so
	// that process-group watchers can re-check their group.
	anyMu sync.Mutex
	any   chan struct{}
	sigc  chan os.Signal
}

// NewReaper returns a reaper; call Run to start reaping.
func NewReaper() *Reaper {
	r := &Reaper{
		waiters: map[int]chan ExitStatus{},
		any:     make(chan struct{}),
		sigc:    make(chan os.Signal, 1),
	}
	signal.Notify(r.sigc, syscall.SIGCHLD)
	return r
}

// Spawn runs fork (a function that starts one process and returns its pid)
// with the reaper held, and subscribes to the new pid before any wait4 can
// see it. The returned channel receives the process's exit exactly once.
func (r *Reaper) Spawn(fork func() (int, error)) (int, <-chan ExitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := fork()
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan ExitStatus, 1)
	r.waiters[pid] = ch
	return pid, ch, nil
}

// Run reaps on every SIGCHLD until ctx ends. It drains once at start, so
// children that exited before Run was called are reaped too.
func (r *Reaper) Run(ctx context.Context) {
	r.Reap()
	for {
		select {
		case <-ctx.Done():
			signal.Stop(r.sigc)
			return
		case <-r.sigc:
			r.Reap()
		}
	}
}

// Reap drains every exited child with wait4(-1, WNOHANG) and dispatches the
// statuses. It is safe to call at any time.
func (r *Reaper) Reap() {
	n := 0
	for {
		r.mu.Lock()
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			r.mu.Unlock()
			continue
		}
		if err != nil || pid <= 0 {
			r.mu.Unlock()
			break
		}
		if ch, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			ch <- FromWaitStatus(ws)
		}
		r.mu.Unlock()
		r.reaped.Add(1)
		n++
	}
	if n > 0 {
		r.anyMu.Lock()
		close(r.any)
		r.any = make(chan struct{})
		r.anyMu.Unlock()
	}
}

// Reaped returns how many processes have been reaped so far.
func (r *Reaper) Reaped() uint64 { return r.reaped.Load() }

// Changed returns a channel that is closed after the next batch of reaped
// processes.
func (r *Reaper) Changed() <-chan struct{} {
	r.anyMu.Lock()
	defer r.anyMu.Unlock()
	return r.any
}

// groupAlive reports whether any process (zombies included) is still in
// process group pgid.
func groupAlive(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
