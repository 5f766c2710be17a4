package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procInfo is one line of /proc/PID/stat, the parts the benchmark uses.
type procInfo struct {
	pid, ppid int
	comm      string
	state     byte
}

// readProc reads /proc/pid/stat.
func readProc(pid int) (procInfo, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procInfo{}, err
	}
	return parseStat(b)
}

// parseStat parses "pid (comm) state ppid ...": comm may hold spaces and
// parentheses, so it ends at the last ')'.
func parseStat(b []byte) (procInfo, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || len(b) < end+5 {
		return procInfo{}, fmt.Errorf("bad stat line %q", b)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return procInfo{}, err
	}
	rest := strings.Fields(string(b[end+2:]))
	if len(rest) < 2 {
		return procInfo{}, fmt.Errorf("bad stat line %q", b)
	}
	ppid, err := strconv.Atoi(rest[1])
	if err != nil {
		return procInfo{}, err
	}
	return procInfo{pid: pid, ppid: ppid, comm: string(b[open+1 : end]), state: rest[0][0]}, nil
}

// allProcs reads every process of the host's /proc.
func allProcs() []procInfo {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make([]procInfo, 0, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := readProc(pid); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// children returns the processes whose parent is pid.
func children(pid int) []procInfo {
	var out []procInfo
	for _, p := range allProcs() {
		if p.ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

// descendants returns every process below root (not root itself).
func descendants(root int) []procInfo {
	all := allProcs()
	kids := map[int][]procInfo{}
	for _, p := range all {
		kids[p.ppid] = append(kids[p.ppid], p)
	}
	var out []procInfo
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range kids[pid] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
	}
	return out
}

// statusKiB returns a "Key:   N kB" field of /proc/pid/status.
func statusKiB(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}
