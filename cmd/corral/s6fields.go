package main

import (
	"syscall"
	"time"

	"github.com/corralhq/corral/supervisor"
)

// syncDisks is sync(2) (S6_SYNC_DISKS).
func syncDisks() { syscall.Sync() }

// configureEngine hands the engine the s6 layer's loader, and the main
// command's stop window: S6_KILL_GRACETIME, the time s6-overlay gives the
// CMD between SIGTERM and SIGKILL.
func configureEngine(c *s6Compat, opts *supervisor.Options) {
	opts.Load = c.load
	opts.MainStopTimeout = c.cfg.KillGraceTime
	if opts.MainStopTimeout == 0 {
		opts.MainStopTimeout = time.Nanosecond // 0: SIGKILL at once (the engine's 0 means its default)
	}
}
