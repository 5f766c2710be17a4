package main

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		line string
		want procInfo
	}{
		{"42 (sleep) S 7 42 42 0 -1", procInfo{pid: 42, ppid: 7, comm: "sleep", state: 'S'}},
		{"9 (a b) (c)) Z 1 9 9 0", procInfo{pid: 9, ppid: 1, comm: "a b) (c)", state: 'Z'}},
	}
	for _, tt := range tests {
		got, err := parseStat([]byte(tt.line))
		if err != nil || got != tt.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "12 (x", "x (y) S 1"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) did not fail", bad)
		}
	}
}

func TestOwnProcess(t *testing.T) {
	me, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if me.ppid != os.Getppid() {
		t.Errorf("ppid = %d, want %d", me.ppid, os.Getppid())
	}
	found := false
	for _, c := range children(os.Getppid()) {
		found = found || c.pid == os.Getpid()
	}
	if !found {
		t.Error("children of our parent lack us")
	}
	if kib, err := statusKiB(os.Getpid(), "VmHWM"); err != nil || kib <= 0 {
		t.Errorf("VmHWM = %d, %v", kib, err)
	}
}
