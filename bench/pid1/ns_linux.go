package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// nsRun is one supervisor running as PID 1 of its own PID namespace.
type nsRun struct {
	cmd *exec.Cmd
	// dir holds the run's configuration and output.
	dir string
	// pid is the supervisor's pid as the host sees it.
	pid int
	// out is the file svc appends its lines to (BENCH_OUT).
	out string
	// t0 is the file stampexec writes the supervisor's exec time to.
	t0   string
	keep bool
	// gap is slept after the namespace is gone.
	gap time.Duration
}

// launch starts p with workload w as PID 1 of a new PID namespace, through
// stampexec so the exec time of the supervisor is on record. extraEnv adds
// BENCH_* settings for svc.
func launch(t *tools, p *peer, w workload, keep bool, extraEnv ...string) (*nsRun, error) {
	dir, err := os.MkdirTemp(t.work, strings.ReplaceAll(p.name, "/", "_")+"-"+w.kind.String()+"-")
	if err != nil {
		return nil, err
	}
	r := &nsRun{dir: dir, out: filepath.Join(dir, "out"), t0: filepath.Join(dir, "t0"), keep: keep, gap: t.gap}
	argv, err := p.configure(t, dir, w)
	if err != nil {
		r.cleanup()
		return nil, fmt.Errorf("configuring %s: %w", p.name, err)
	}
	console, err := os.Create(filepath.Join(dir, "console.log"))
	if err != nil {
		r.cleanup()
		return nil, err
	}
	defer console.Close()
	args := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", "--", t.stampexec, r.t0}, argv...)
	r.cmd = exec.Command(t.unshare, args...)
	// The same small environment for every supervisor, which passes it on
	// to its services.
	r.cmd.Env = append([]string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + dir,
		"LANG=C",
		"BENCH_OUT=" + r.out,
		"BENCH_MODE=" + w.kind.String(),
	}, extraEnv...)
	r.cmd.Dir = dir
	r.cmd.Stdin = nil
	r.cmd.Stdout = console
	r.cmd.Stderr = console
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		r.cleanup()
		return nil, fmt.Errorf("starting unshare: %w", err)
	}
	// The supervisor is unshare's only child.
	err = waitFor(5*time.Second, func() (bool, error) {
		for _, c := range children(r.cmd.Process.Pid) {
			r.pid = c.pid
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		r.stop()
		return nil, fmt.Errorf("%s: no PID 1 under unshare: %w", p.name, err)
	}
	return r, nil
}

// stop kills the namespace (SIGKILL to its PID 1 takes every process in it
// down) and removes the run's directory unless kept.
func (r *nsRun) stop() {
	if r.pid > 0 {
		_ = syscall.Kill(r.pid, syscall.SIGKILL)
	}
	if r.cmd != nil && r.cmd.Process != nil {
		// unshare exits once its child, PID 1, is gone, and PID 1 is gone
		// once every process of the namespace is.
		done := make(chan struct{})
		go func() { _ = r.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-done
		}
	}
	r.cleanup()
	time.Sleep(r.gap)
}

func (r *nsRun) cleanup() {
	if !r.keep {
		_ = os.RemoveAll(r.dir)
	}
}

// console returns the tail of what the supervisor wrote, for errors.
func (r *nsRun) console() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "console.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// stampLine is one "what NS [extra]" line written by svc or stampexec.
type stampLine struct {
	what  string
	ns    int64
	extra int64
}

// readStamps parses a file of stamp lines; a missing file has none.
func readStamps(path string) ([]stampLine, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []stampLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue // a line being written
		}
		ns, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		l := stampLine{what: fields[0], ns: ns}
		if len(fields) > 2 {
			l.extra, _ = strconv.ParseInt(fields[2], 10, 64)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// nth returns the ns of the n-th (from 1) line named what.
func nth(lines []stampLine, what string, n int) (stampLine, bool) {
	for _, l := range lines {
		if l.what == what {
			n--
			if n == 0 {
				return l, true
			}
		}
	}
	return stampLine{}, false
}

// waitStamp polls path until the n-th line named what is there. The
// figures come from the stamps, not from when the poll sees them: it polls
// every 5 ms so as to leave the CPUs to the supervisor.
func waitStamp(path, what string, n int, timeout time.Duration) ([]stampLine, error) {
	var lines []stampLine
	err := waitEvery(5*time.Millisecond, timeout, func() (bool, error) {
		var err error
		lines, err = readStamps(path)
		if err != nil {
			return false, err
		}
		_, ok := nth(lines, what, n)
		return ok, nil
	})
	return lines, err
}

// waitFor polls cond every millisecond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() (bool, error)) error {
	return waitEvery(time.Millisecond, timeout, cond)
}

// waitEvery polls cond every interval until it holds or timeout passes.
func waitEvery(interval, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		time.Sleep(interval)
	}
}
