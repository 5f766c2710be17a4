package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/s6"
)

// stage2Watch is what the stage-2 check needs of the engine.
type stage2Watch interface {
	Status(names ...string) ([]control.ServiceStatus, error)
	Shutdown()
}

// watchStage2 is the end of s6-overlay's `s6-rc change top`: once every
// s6 service started at boot has settled (or S6_CMD_WAIT_FOR_SERVICES_MAXTIME
// passed), failures are reported per S6_BEHAVIOUR_IF_STAGE2_FAILS: 0
// nothing, 1 a warning, 2 a warning and the container stops with exit
// code 1 (2 on the time limit). names are the services to watch.
func (c *s6Compat) watchStage2(ctx context.Context, sup stage2Watch) {
	if c.cfg.Behaviour == 0 || c.gated {
		return // with a main command and 2, mainGate decides
	}
	var deadline <-chan time.Time
	if c.cfg.CmdWaitMaxTime > 0 {
		t := time.NewTimer(c.cfg.CmdWaitMaxTime)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			c.stage2Failed(sup, 2, "timed out waiting for the services to come up")
			return
		case <-tick.C:
		}
		c.mu.Lock()
		names := c.bootNames
		c.mu.Unlock()
		if names == nil {
			continue // not loaded yet
		}
		sts, err := sup.Status(names...)
		if err != nil || len(sts) < len(names) {
			continue // not started yet
		}
		failed, settled := s6.Stage2(sts)
		if !settled {
			continue
		}
		if len(failed) > 0 {
			c.stage2Failed(sup, 1, "unable to start "+strings.Join(failed, ", "))
		}
		return
	}
}

// stage2Failed reports a stage-2 failure and, with
// S6_BEHAVIOUR_IF_STAGE2_FAILS=2, stops the container with code.
func (c *s6Compat) stage2Failed(sup stage2Watch, code int, what string) {
	if c.cfg.Verbosity >= 1 {
		fmt.Fprintf(os.Stderr, "s6-overlay: warning: %s: s6-rc failed to properly bring all the services up\n", what)
	}
	if c.cfg.Behaviour >= 2 {
		fmt.Fprintln(os.Stderr, "s6-overlay: fatal: stopping the container.")
		_ = os.WriteFile(c.layout.ExitCodeFile(), []byte(fmt.Sprintf("%d\n", code)), 0o644)
		c.stage2Code.Store(int32(code))
		sup.Shutdown()
	}
}

// mainGate is the engine's MainGate with S6_BEHAVIOUR_IF_STAGE2_FAILS=2 and
// a main command: once the boot services settled (or the wait for them hit
// S6_CMD_WAIT_FOR_SERVICES_MAXTIME), the main command runs only if none
// failed; otherwise the container stops with exit code 1 (2 for the time
// limit), as s6-overlay's rc.init does.
func (c *s6Compat) mainGate(settled bool) (int, bool) {
	c.mu.Lock()
	names := c.bootNames
	c.mu.Unlock()
	sts, err := c.sup.Status(names...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "s6-overlay: warning: checking the services: %v\n", err)
	}
	failed, ok := s6.Stage2(sts)
	switch {
	case len(failed) > 0:
		return c.gateRefuses(1, "unable to start "+strings.Join(failed, ", "))
	case !settled || !ok || err != nil:
		return c.gateRefuses(2, "timed out waiting for the services to come up")
	}
	return 0, true
}

// gateRefuses reports a stage-2 failure in front of the main command and
// records the exit code.
func (c *s6Compat) gateRefuses(code int, what string) (int, bool) {
	fmt.Fprintf(os.Stderr, "s6-overlay: warning: %s: s6-rc failed to properly bring all the services up\n", what)
	fmt.Fprintln(os.Stderr, "s6-overlay: fatal: stopping the container.")
	_ = os.WriteFile(c.layout.ExitCodeFile(), []byte(fmt.Sprintf("%d\n", code)), 0o644)
	c.stage2Code.Store(int32(code))
	return code, false
}
