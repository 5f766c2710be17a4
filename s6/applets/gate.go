package applets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/s6"
)

// stage2Gate runs in front of the main command when
// S6_BEHAVIOUR_IF_STAGE2_FAILS is 2: corral starts the main command once
// the services settled, and the gate checks that every service started at
// boot came up. If one failed (or they have not settled: the wait for them
// hit S6_CMD_WAIT_FOR_SERVICES_MAXTIME), it stops the container with exit
// code 1 (2 for the time limit) as s6-overlay's rc.init does; otherwise it
// execs the main command.
func stage2Gate(argv []string) int {
	const prog = "s6-overlay"
	if len(argv) < 2 {
		return usage(prog, "s6-stage2-gate prog...")
	}
	names, err := s6.ReadBootFile(s6.DefaultLayout)
	if err != nil {
		return fatalf(111, prog, "%v", err)
	}
	c := client()
	var sts []control.ServiceStatus
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
		sr, err := c.Status(ctx, names...)
		cancel()
		if err == nil {
			sts = sr.Services
			break
		}
		var ce *control.ConnError
		if !errors.As(err, &ce) || time.Now().After(deadline) {
			return fatalf(111, prog, "checking the services: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // the control socket is still being set up
	}
	failed, settled := s6.Stage2(sts)
	code := 0
	switch {
	case len(failed) > 0:
		code = 1
		warnf(prog, "unable to start %s: s6-rc failed to properly bring all the services up", strings.Join(failed, ", "))
	case !settled:
		code = 2
		warnf(prog, "timed out waiting for the services to come up")
	}
	if code == 0 {
		return execve(prog, argv[1:], os.Environ())
	}
	// Exiting is enough: the main command's exit stops the container.
	fmt.Fprintln(os.Stderr, "s6-overlay: fatal: stopping the container.")
	_ = os.WriteFile(s6.DefaultLayout.ExitCodeFile(), []byte(fmt.Sprintf("%d\n", code)), 0o644)
	return code
}
