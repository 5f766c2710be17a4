package reaper

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// SignalGroup sends sig to process group pgid, ignoring a group that is gone.
func SignalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 0 {
		return nil
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signalling process group %d: %w", pgid, err)
	}
	return nil
}

// GroupAlive reports whether any process (zombies included) is still in
// process group pgid.
func GroupAlive(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// WaitGroupGone waits until process group pgid is empty, re-checking after
// every reaped batch (and on a short poll, for processes reaped by a parent
// other than corral). It returns false if deadline fires first.
func WaitGroupGone(pgid int, deadline <-chan time.Time) bool {
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		changed := Changed()
		if !GroupAlive(pgid) {
			return true
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-deadline:
			return false
		}
	}
}
