package main

import (
	"github.com/corralhq/corral/supervisor"
	"syscall"

	"github.com/corralhq/corral/s6"
	"github.com/corralhq/corral/services"
)

// unitService returns the corral service of an s6 unit.
func unitService(u *s6.Unit) *services.Service {
	return u.Service
}

// ordering returns the services s starts after.
func ordering(s *services.Service) []string { return s.After }

// syncDisks is sync(2) (S6_SYNC_DISKS).
func syncDisks() { syscall.Sync() }

// configureEngine sets the engine options that take the s6 layer's
// definitions.
func configureEngine(c *s6Compat, opts *supervisor.Options) {}
