package applets

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// withRetries is with-retries [-n N] [-t ms] prog...: run prog up to N
// times (default 3), each attempt sent SIGTERM after ms (default 500) as
// s6-maximumtime does; exit 0 at the first success, 1 when all failed.
func withRetries(argv []string) int {
	const prog, u = "with-retries", "with-retries [ -n numretries ] [ -t millisecs ] prog..."
	n, ms := 3, 500
	g := getopt{args: argv[1:], spec: "n:t:"}
	for {
		opt, arg, err := g.next()
		if err != nil {
			return usage(prog, u)
		}
		if opt == 0 {
			break
		}
		v, err := strconv.Atoi(arg)
		if err != nil || v < 0 {
			return usage(prog, u)
		}
		if opt == 'n' {
			n = v
		} else {
			ms = v
		}
	}
	rest := g.rest()
	if len(rest) == 0 {
		return usage(prog, u)
	}
	for i := 0; i < n; i++ {
		cmd := exec.Command(rest[0], rest[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			warnf(prog, "unable to spawn %s: %v", rest[0], err)
			continue
		}
		var timer *time.Timer
		if ms > 0 {
			timer = time.AfterFunc(time.Duration(ms)*time.Millisecond, func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
			})
		}
		err := cmd.Wait()
		if timer != nil {
			timer.Stop()
		}
		if err == nil {
			return 0
		}
	}
	return 1
}

// timeoutMS converts milliseconds.
func timeoutMS(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
