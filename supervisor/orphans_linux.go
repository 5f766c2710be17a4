package supervisor

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/corralhq/corral/supervisor/internal/reaper"
)

// orphanGrace is how long processes left to corral get after SIGTERM at
// shutdown, before SIGKILL.
const orphanGrace = 5 * time.Second

// stopOrphans stops every process left as corral's child once the services
// and the main command are gone: daemons that escaped their service's
// process group (setsid and a double fork) and were re-parented to corral,
// as PID 1 or as a child subreaper. They get SIGTERM (and SIGCONT), then
// SIGKILL after orphanGrace; the reaper collects them.
func (s *Supervisor) stopOrphans() {
	pids := children()
	if len(pids) == 0 {
		return
	}
	s.log.Warn("stopping processes left behind by services", "count", len(pids))
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	deadline := time.After(orphanGrace)
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		changed := reaper.Changed()
		left := children()
		if len(left) == 0 {
			return
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-deadline:
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			s.log.Warn("killed processes that ignored SIGTERM", "count", len(left))
			return
		}
	}
}

// children returns the pids of corral's live (not zombie) child processes,
// read from /proc.
func children() []int {
	self := os.Getpid()
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var out []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == self {
			continue
		}
		ppid, state, err := parentOf(pid)
		if err == nil && ppid == self && state != 'Z' && state != 'X' {
			out = append(out, pid)
		}
	}
	return out
}

// parentOf reads the parent pid and state of pid from /proc/<pid>/stat.
func parentOf(pid int) (ppid int, state byte, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// "pid (comm) S ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, errors.New("bad stat")
	}
	f := bytes.Fields(b[i+2:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, errors.New("bad stat")
	}
	ppid, err = strconv.Atoi(string(f[1]))
	return ppid, f[0][0], err
}
