package control

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
)

func TestStartStopRestartSignal(t *testing.T) {
	c := startCorral(t, map[string]string{
		"web.toml": `command = ["sleep", "1000"]` + "\n",
		// Says which signal it got, on stdout.
		"trapper.toml": "command = \"trap 'echo got USR1' USR1; trap 'echo got HUP' HUP; echo trapper up; while :; do sleep 0.1; done\"\n",
		"crash.toml":   "command = \"exit 3\"\nmax_restarts = 1\nrestart_window = \"60s\"\n",
	})
	c.waitState(map[string]control.State{"web": control.Running, "trapper": control.Running, "crash": control.Fatal})
	pid0 := c.status()["web"].PID

	for _, tc := range []struct {
		args []string
		out  string
		code int
	}{
		{[]string{"start", "web"}, "web: ERROR (already started)\n", 0},
		{[]string{"start"}, "Error: start requires a process name\n", 2},
		{[]string{"start", "nope"}, "nope: ERROR (no such process)\n", 1},
		{[]string{"start", "nope:*"}, "nope: ERROR (no such group)\n", 2},
		{[]string{"stop", "web"}, "web: stopped\n", 0},
		{[]string{"stop", "web"}, "web: ERROR (not running)\n", 0},
		{[]string{"stop", "nope"}, "nope: ERROR (no such process)\n", 1},
		{[]string{"status", "web"}, "", 3},
		{[]string{"pid", "web"}, "0\n", 7},
		{[]string{"start", "web"}, "web: started\n", 0},
		{[]string{"restart", "web"}, "web: stopped\nweb: started\n", 0},
		{[]string{"signal", "HUP"}, "Error: signal requires a signal name and a process name\n", 1},
		{[]string{"signal", "BOGUS", "trapper"}, "trapper: ERROR (bad signal name)\n", 1},
		{[]string{"signal", "USR1", "trapper"}, "trapper: signalled\n", 0},
		{[]string{"signal", "usr1", "crash"}, "crash: ERROR (not running)\n", 7},
		{[]string{"signal", "HUP", "nope"}, "nope: ERROR (no such process)\n", 1},
		{[]string{"pid", "nope"}, "No such process nope\n", 1},
		{[]string{"version"}, "", 0},
		{[]string{"frobnicate"}, "*** Unknown syntax: frobnicate\n", 1},
	} {
		r := c.ctl(tc.args...)
		if r.code != tc.code || (tc.out != "" && !strings.HasPrefix(r.out, tc.out)) {
			t.Errorf("supervisorctl %v: exit %d, output %q; want exit %d, output %q", tc.args, r.code, r.out, tc.code, tc.out)
		}
	}
	st := c.status()["web"]
	if st.State != control.Running || st.PID == pid0 || !alive(st.PID) || alive(pid0) {
		t.Errorf("after stop/start/restart web is %s pid %d (first pid %d, alive %v)", st.State, st.PID, pid0, alive(pid0))
	}
	if r := c.ctl("pid", "web"); strings.TrimSpace(r.out) != strconv.Itoa(st.PID) {
		t.Errorf("pid web = %q, want %d", r.out, st.PID)
	}
	if r := c.ctl("pid"); strings.TrimSpace(r.out) != strconv.Itoa(c.cmd.Process.Pid) {
		t.Errorf("pid = %q, want corral's %d", r.out, c.cmd.Process.Pid)
	}
	if r := c.ctl("pid", "all"); len(strings.Fields(r.out)) != 3 {
		t.Errorf("pid all = %q, want 3 pids", r.out)
	}
	// The trap ran: its output is in the log, which tail shows.
	waitFor(t, "the USR1 trap's output in the log", func() (bool, string) {
		r := c.ctl("tail", "trapper")
		return strings.Contains(r.out, "got USR1"), r.out
	})
	// all: stop what runs, start what does not.
	r := c.ctl("stop", "all")
	if r.code != 0 || !strings.Contains(r.out, "web: stopped\n") || !strings.Contains(r.out, "trapper: stopped\n") || strings.Contains(r.out, "crash") {
		t.Errorf("stop all: exit %d, %q", r.code, r.out)
	}
	r = c.ctl("start", "web", "trapper")
	if r.code != 0 || r.out != "web: started\ntrapper: started\n" {
		t.Errorf("start web trapper: exit %d, %q", r.code, r.out)
	}
}

func TestTail(t *testing.T) {
	c := startCorral(t, map[string]string{
		"counter.toml": "command = \"i=0; while :; do i=$$((i+1)); echo line $$i; echo err $$i >&2; sleep 0.05; done\"\n",
	})
	c.waitState(map[string]control.State{"counter": control.Running})
	waitFor(t, "20 lines of output", func() (bool, string) {
		r := c.ctl("tail", "counter")
		return strings.Contains(r.out, "line 20\n"), r.out
	})
	r := c.ctl("tail", "-n", "3", "counter")
	if lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n"); r.code != 0 || len(lines) != 3 || !strings.Contains(lines[0], "line ") {
		t.Errorf("tail -n 3: exit %d, %q", r.code, r.out)
	}
	r = c.ctl("tail", "-100", "counter", "stderr")
	if r.code != 0 || len(r.out) != 100 || !strings.Contains(r.out, "err ") || strings.Contains(r.out, "line ") {
		t.Errorf("tail -100 counter stderr: exit %d, %d bytes %q", r.code, len(r.out), r.out)
	}
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"tail"}, "Error: too few arguments\n"},
		{[]string{"tail", "counter", "bogus"}, "Error: bad channel 'bogus'\n"},
		{[]string{"tail", "nope"}, "nope: ERROR (no such process name)\n"},
	} {
		if r := c.ctl(tc.args...); r.code != 1 || !strings.HasPrefix(r.out, tc.out) {
			t.Errorf("%v: exit %d, %q; want 1, %q", tc.args, r.code, r.out, tc.out)
		}
	}

	// tail -f streams new lines until interrupted.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "supervisorctl"), "-s", c.sock, "tail", "-f", "counter")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	first, last := -1, -1
	for sc.Scan() && last-first < 10 {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[len(f)-2] != "line" {
			continue
		}
		n, err := strconv.Atoi(f[len(f)-1])
		if err != nil {
			t.Fatalf("odd line %q", sc.Text())
		}
		if first < 0 {
			first = n
		} else if n != last+1 {
			t.Errorf("tail -f skipped from line %d to %d", last, n)
		}
		last = n
	}
	if last-first < 10 {
		t.Errorf("tail -f gave lines %d..%d, want 10 new ones", first, last)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	go func() {
		for sc.Scan() {
		}
	}()
	if err := cmd.Wait(); err != nil {
		t.Errorf("tail -f after Ctrl-C: %v", err)
	}
}

func TestRereadUpdateHelp(t *testing.T) {
	c := startCorral(t, map[string]string{
		"web.toml": `command = ["sleep", "1000"]` + "\n",
		"old.toml": `command = ["sleep", "1001"]` + "\n",
	})
	c.waitState(map[string]control.State{"web": control.Running, "old": control.Running})
	if r := c.ctl("reread"); r.out != "No config updates to processes\n" || r.code != 0 {
		t.Errorf("reread with no change: %q, exit %d", r.out, r.code)
	}
	if r := c.ctl("help"); !strings.Contains(r.out, "default commands (type help <topic>):\n=====================================\n") ||
		!strings.Contains(r.out, "status") || !strings.Contains(r.out, "tail") {
		t.Errorf("help = %q", r.out)
	}
	if r := c.ctl("help", "tail"); !strings.HasPrefix(r.out, "tail [-f] [-n N] <name> [stdout|stderr] (default stdout)\n") {
		t.Errorf("help tail = %q", r.out)
	}
}
