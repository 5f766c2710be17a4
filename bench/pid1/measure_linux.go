package main

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// direct runs svc as PID 1 itself, with no supervisor: the floor of "exec
// to first service" (one exec of a static binary and a file write).
var direct = &peer{
	name: "direct",
	configure: func(t *tools, dir string, w workload) ([]string, error) {
		return []string{t.svc}, nil
	},
}

// firstStart measures the time from the supervisor's exec (stampexec's
// stamp) to the first line svc writes at the top of main.
func firstStart(t *tools, p *peer, keep bool) (time.Duration, error) {
	r, err := launch(t, p, workload{kind: stamp}, keep)
	if err != nil {
		return 0, err
	}
	defer r.stop()
	lines, err := waitStamp(r.out, "start", 1, 10*time.Second)
	if err != nil {
		return 0, fmt.Errorf("%s: service never started: %w\n%s", p.name, err, r.console())
	}
	start, _ := nth(lines, "start", 1)
	t0, err := readStamps(r.t0)
	if err != nil {
		return 0, err
	}
	exec, ok := nth(t0, "exec", 1)
	if !ok {
		return 0, fmt.Errorf("%s: no exec stamp in %s", p.name, r.t0)
	}
	return time.Duration(start.ns - exec.ns), nil
}

// restartLatency measures the time from the first instance's exit (svc's
// "exit" stamp, written just before _exit(1)) to the second's start.
func restartLatency(t *tools, p *peer, keep bool) (time.Duration, error) {
	r, err := launch(t, p, workload{kind: crash}, keep)
	if err != nil {
		return 0, err
	}
	defer r.stop()
	lines, err := waitStamp(r.out, "start", 2, 10*time.Second)
	if err != nil {
		return 0, fmt.Errorf("%s: service not restarted: %w\n%s", p.name, err, r.console())
	}
	exit1, ok := nth(lines, "exit", 1)
	if !ok {
		return 0, fmt.Errorf("%s: no exit stamp", p.name)
	}
	start2, _ := nth(lines, "start", 2)
	return time.Duration(start2.ns - exit1.ns), nil
}

// orphanResult is one orphan run.
type orphanResult struct {
	// total runs from the first fork to the moment svc saw no zombie.
	total time.Duration
	// drain runs from the last fork to that moment.
	drain time.Duration
	// zombies are those left when svc stopped looking (0 unless the
	// deadline passed).
	zombies int64
}

// orphanRun has svc double-fork n orphans that exit at once and waits
// until svc reports that none is left as a zombie.
func orphanRun(t *tools, p *peer, n int, deadline time.Duration, keep bool) (orphanResult, error) {
	r, err := launch(t, p, workload{kind: orphans}, keep,
		"BENCH_N="+strconv.Itoa(n), "BENCH_DEADLINE_MS="+strconv.FormatInt(deadline.Milliseconds(), 10))
	if err != nil {
		return orphanResult{}, err
	}
	defer r.stop()
	lines, err := waitStamp(r.out, "done", 1, deadline+30*time.Second)
	if err != nil {
		return orphanResult{}, fmt.Errorf("%s: orphan run did not finish: %w\n%s", p.name, err, r.console())
	}
	start, _ := nth(lines, "start", 1)
	created, ok := nth(lines, "created", 1)
	if !ok {
		return orphanResult{}, fmt.Errorf("%s: svc did not create its orphans", p.name)
	}
	done, _ := nth(lines, "done", 1)
	return orphanResult{
		total:   time.Duration(done.ns - start.ns),
		drain:   time.Duration(done.ns - created.ns),
		zombies: done.extra,
	}, nil
}

// sleepResult is one run of n sleep services.
type sleepResult struct {
	// hwm is the supervisor's VmHWM (KiB) once every service runs.
	hwm int64
	// treeHWM adds the VmHWM of its helper processes (s6-supervise).
	treeHWM int64
	// rss and anon are the supervisor's VmRSS and RssAnon (KiB) then: the
	// resident set now, and its private part (RssFile, the binary's pages
	// in the page cache, is shared).
	rss, anon int64
	// term runs from SIGTERM to the supervisor's exit.
	term time.Duration
	// lastToExit runs from the last service's exit to the supervisor's.
	lastToExit time.Duration
}

// sleepRun starts n `sleep infinity` services, reads the supervisor's peak
// RSS once all run and settle has passed, then sends it SIGTERM and times
// its exit and that of every service (pidfds, polled).
func sleepRun(t *tools, p *peer, n int, settle time.Duration, keep bool) (sleepResult, error) {
	var res sleepResult
	r, err := launch(t, p, workload{kind: sleepers, n: n}, keep)
	if err != nil {
		return res, err
	}
	defer r.stop()
	var sleeps []int
	// Scanning /proc costs CPU the supervisors need: poll it gently.
	err = waitEvery(10*time.Millisecond, 15*time.Second, func() (bool, error) {
		sleeps = sleeps[:0]
		for _, d := range descendants(r.pid) {
			if d.comm == "sleep" && d.state != 'Z' {
				sleeps = append(sleeps, d.pid)
			}
		}
		return len(sleeps) == n, nil
	})
	if err != nil {
		return res, fmt.Errorf("%s: %d of %d services running: %w\n%s", p.name, len(sleeps), n, err, r.console())
	}
	time.Sleep(settle)
	if res.hwm, err = statusKiB(r.pid, "VmHWM"); err != nil {
		return res, err
	}
	if res.rss, err = statusKiB(r.pid, "VmRSS"); err != nil {
		return res, err
	}
	if res.anon, err = statusKiB(r.pid, "RssAnon"); err != nil {
		return res, err
	}
	res.treeHWM = res.hwm
	for _, d := range descendants(r.pid) {
		if d.comm != "sleep" {
			if kib, err := statusKiB(d.pid, "VmHWM"); err == nil {
				res.treeHWM += kib
			}
		}
	}
	res.term, res.lastToExit, err = timeTerm(r.pid, sleeps, 30*time.Second)
	if err != nil {
		return res, fmt.Errorf("%s: %w\n%s", p.name, err, r.console())
	}
	return res, nil
}

// timeTerm sends SIGTERM to sup and returns the time to its exit and the
// time from the last of services' exits to sup's.
func timeTerm(sup int, services []int, timeout time.Duration) (term, lastToExit time.Duration, err error) {
	pids := append([]int{sup}, services...)
	fds := make([]unix.PollFd, len(pids))
	for i, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			return 0, 0, fmt.Errorf("pidfd_open %d: %w", pid, err)
		}
		defer unix.Close(fd)
		fds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	}
	exited := make([]time.Time, len(pids))
	sent := time.Now()
	if err := syscall.Kill(sup, syscall.SIGTERM); err != nil {
		return 0, 0, fmt.Errorf("SIGTERM to the supervisor: %w", err)
	}
	deadline := sent.Add(timeout)
	for exited[0].IsZero() {
		left := time.Until(deadline)
		if left <= 0 {
			return 0, 0, fmt.Errorf("still running %s after SIGTERM", timeout)
		}
		_, err := unix.Poll(fds, int(left.Milliseconds())+1)
		now := time.Now()
		if err != nil && !errors.Is(err, unix.EINTR) {
			return 0, 0, fmt.Errorf("poll: %w", err)
		}
		for i := range fds {
			if fds[i].Fd >= 0 && fds[i].Revents != 0 {
				exited[i] = now
				fds[i].Fd = -1 // poll ignores negative descriptors
			}
		}
	}
	last := sent
	for _, t := range exited[1:] {
		if t.IsZero() {
			// A service still running when PID 1 exited was killed by
			// the kernel with the namespace: it counts as exiting then.
			t = exited[0]
		}
		if t.After(last) {
			last = t
		}
	}
	return exited[0].Sub(sent), exited[0].Sub(last), nil
}
