package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/corralhq/corral/s6"
	"github.com/corralhq/corral/supervisor"
)

// setupS6 turns s6-overlay mode on when the image wants it (--s6), boots
// as s6-overlay does, and adapts corral's command line: S6_CMD_ARG0 goes
// before the main command, S6_VERBOSITY sets corral's log level unless
// --log-level does. It returns nil when the mode is off; exit is set when
// the container must stop at once with code (a failed S6_STAGE2_HOOK with
// S6_BEHAVIOUR_IF_STAGE2_FAILS=2, or a broken /run).
func setupS6(c *config) (compat *s6Compat, code int, exit bool) {
	on, err := s6Wanted(c.s6, s6.DefaultLayout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corral:", err)
		return nil, 2, true
	}
	if !on {
		return nil, 0, false
	}
	explicitLevel := c.set["log-level"] || os.Getenv("CORRAL_LOG_LEVEL") != ""
	if !explicitLevel {
		c.logLevel = verbosityLevel(s6.ReadConfig(os.LookupEnv, os.LookupEnv).Verbosity)
	}
	base, err := newLogger(c.logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corral:", err)
		return nil, 2, true
	}
	compat, err = newS6Compat(base.With("component", "corral"), c.servicesDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corral:", err)
		return nil, 111, true
	}
	if err := compat.boot(); err != nil {
		var h *errHalt
		if errors.As(err, &h) {
			return nil, h.code, true
		}
		fmt.Fprintln(os.Stderr, "corral:", err)
		return nil, 111, true
	}
	if !explicitLevel {
		c.logLevel = verbosityLevel(compat.cfg.Verbosity)
	}
	if len(c.main) > 0 && len(compat.cfg.CmdArg0) > 0 {
		c.main = append(append([]string{}, compat.cfg.CmdArg0...), c.main...)
	}
	if len(c.main) > 0 && compat.cfg.Behaviour >= 2 {
		// The main command must not run when stage 2 failed: the engine
		// asks mainGate once the boot services settled.
		compat.gated = true
	}
	return compat, 0, false
}

// verbosityLevel maps S6_VERBOSITY to corral's log level.
func verbosityLevel(v int) string {
	switch {
	case v <= 0:
		return "error"
	case v == 1:
		return "warn"
	case v == 2:
		return "info"
	}
	return "debug"
}

// configure sets the engine options s6-overlay mode needs. waitSet tells
// whether --wait-services (or CORRAL_WAIT_SERVICES) was given.
func (c *s6Compat) configure(opts *supervisor.Options, waitSet bool) {
	if c == nil {
		return
	}
	// The main command gets PATH only, as rc.init gives it (everything
	// with S6_KEEP_ENV).
	opts.MainEnv = c.stageEnv()
	if !waitSet {
		// S6_CMD_WAIT_FOR_SERVICES_MAXTIME: 0 waits as long as it takes.
		opts.WaitServices = c.cfg.CmdWaitMaxTime
	}
	if c.gated {
		opts.MainGate = c.mainGate
	}
	if !c.cfg.CmdReceiveSignals {
		// s6-overlay's .s6-svscan scripts: SIGUSR2 halts, SIGUSR1 and
		// SIGPWR power off; in a container, all three stop it. With
		// S6_CMD_RECEIVE_SIGNALS they go to the main command instead.
		opts.ShutdownSignals = []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPWR}
	}
	configureEngine(c, opts)
}

// start runs what accompanies the engine in s6-overlay mode.
func (c *s6Compat) start(ctx context.Context, sup stage2Watch) {
	if c == nil {
		return
	}
	c.sup = sup
	go c.watchStage2(ctx, sup)
}

// finish returns the container's exit code under s6-overlay's rules.
func (c *s6Compat) finish(code int, hasMain bool) int {
	if c == nil {
		return code
	}
	return c.exitCode(code, hasMain)
}
