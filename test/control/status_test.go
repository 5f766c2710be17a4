package control

import (
	"strings"
	"testing"

	"github.com/corralhq/corral/control"
)

// everyState is a services directory whose services settle in every state
// supervisorctl shows (STOPPED and STOPPING are reached by the test).
var everyState = map[string]string{
	"running.toml":   `command = ["sleep", "1000"]` + "\n",
	"exited.toml":    "type = \"oneshot\"\ncommand = \"true\"\n",
	"fatal.toml":     "command = \"exit 3\"\nmax_restarts = 1\nrestart_window = \"60s\"\n",
	"backoff.toml":   "command = \"exit 4\"\n[backoff]\ninitial = \"1h\"\nmax = \"1h\"\n",
	"spawnfail.toml": "command = [\"/nonexistent/bin\"]\nmax_restarts = 1\n",
	"starting.toml":  "command = [\"sleep\", \"1000\"]\n[ready]\ncommand = [\"false\"]\ntimeout = \"1h\"\n",
	"stopped.toml":   `command = ["sleep", "1000"]` + "\n",
	// One process that ignores SIGTERM: it stays STOPPING until killed.
	"stopping.toml": "command = \"trap '' TERM; exec sleep 1000\"\nstop_timeout = \"1h\"\n",
	"a-service-with-a-name-longer-than-thirty.toml": `command = ["sleep", "1000"]` + "\n",
	// A plugin service: no pid, the plugin's own description.
	"hook.toml": "plugin = \"hook\"\n[hook]\ncommand = [\"true\"]\n",
}

func TestStatusEveryStateGolden(t *testing.T) {
	c := startCorral(t, everyState)
	long := "a-service-with-a-name-longer-than-thirty"
	c.waitState(map[string]control.State{
		"running": control.Running, "exited": control.Exited, "fatal": control.Fatal,
		"backoff": control.Backoff, "spawnfail": control.Fatal, "starting": control.Starting,
		"stopped": control.Running, "stopping": control.Running, long: control.Running,
		"hook": control.Running,
	})
	if r := c.ctl("stop", "stopped"); r.out != "stopped: stopped\n" || r.code != 0 {
		t.Fatalf("stop stopped: %q, exit %d", r.out, r.code)
	}
	stopDone := make(chan result, 1)
	go func() { stopDone <- c.ctl("stop", "stopping") }()
	c.waitState(map[string]control.State{"stopped": control.Stopped, "stopping": control.Stopping})

	r := c.ctl("status")
	golden(t, "status_every_state.golden", normalise(r.out))
	if r.code != 3 {
		t.Errorf("status exit code = %d, want 3 (some are not running)", r.code)
	}
	// The name column is max(30, longest)+3 wide: the long name plus 3.
	for _, l := range strings.Split(strings.TrimSuffix(r.out, "\n"), "\n") {
		if len(l) < len(long)+3+10 || l[len(long)+2] != ' ' || l[len(long)+3] == ' ' {
			t.Errorf("line not in %d+10 columns: %q", len(long)+3, l)
		}
	}

	// --json carries what s6-svstat users ask for.
	r = c.ctl("status", "--json", "exited", "fatal")
	for _, want := range []string{`"name": "exited"`, `"state": "EXITED"`, `"ready": `, `"restarts": `, `"since": `, `"last_exit": {`} {
		if !strings.Contains(r.out, want) {
			t.Errorf("status --json lacks %s:\n%s", want, r.out)
		}
	}
	if r.code != 3 {
		t.Errorf("status --json exit code = %d, want 3", r.code)
	}

	// Let the STOPPING one go.
	if r := c.ctl("signal", "KILL", "stopping"); r.out != "stopping: signalled\n" {
		t.Errorf("signal KILL stopping: %q", r.out)
	}
	if r := <-stopDone; r.out != "stopping: stopped\n" || r.code != 0 {
		t.Errorf("stop stopping: %q, exit %d", r.out, r.code)
	}
}

func TestStatusExitCodes(t *testing.T) {
	c := startCorral(t, map[string]string{
		"web.toml":   `command = ["sleep", "1000"]` + "\n",
		"db.toml":    `command = ["sleep", "1001"]` + "\n",
		"setup.toml": "type = \"oneshot\"\ncommand = \"true\"\n",
	})
	c.waitState(map[string]control.State{"web": control.Running, "db": control.Running, "setup": control.Exited})
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"status", "web", "db"}, 0, ""},
		{[]string{"status", "web:*"}, 0, ""},
		{[]string{"status", "setup"}, 3, ""},
		{[]string{"status"}, 3, ""},
		{[]string{"status", "nope"}, 4, "nope: ERROR (no such process)\n"},
		{[]string{"status", "nope:*"}, 4, "nope: ERROR (no such group)\n"},
		// As supervisorctl: a stopped one listed after an unknown name wins.
		{[]string{"status", "nope", "setup"}, 3, "nope: ERROR (no such process)\n"},
	} {
		r := c.ctl(tc.args...)
		if r.code != tc.code || !strings.HasPrefix(r.out, tc.out) {
			t.Errorf("%v: exit %d, output %q; want exit %d, output starting %q", tc.args, r.code, r.out, tc.code, tc.out)
		}
	}
	if r := c.ctl("status", "web"); !rePIDUptime.MatchString(r.out) || !strings.HasPrefix(r.out, "web ") {
		t.Errorf("status web = %q", r.out)
	}

	// No server: which socket, and why.
	missing := c.sock + ".missing"
	r := runCtl(t, nil, "-s", missing, "status")
	if r.code != 4 || r.out != "unix://"+missing+" no such file\n" {
		t.Errorf("status on a missing socket: exit %d, %q", r.code, r.out)
	}
	r = runCtl(t, nil, "--serverurl", "unix://"+missing, "start", "web")
	if r.code != 7 || r.out != "unix://"+missing+" no such file\n" {
		t.Errorf("start on a missing socket: exit %d, %q", r.code, r.out)
	}
	r = runCtl(t, nil, "-s", c.sock, "shutdown")
	if r.code != 0 || r.out != "Shut down\n" {
		t.Errorf("shutdown: exit %d, %q", r.code, r.out)
	}
	<-c.exited
	r = runCtl(t, nil, "-s", c.sock, "status")
	if r.code != 4 || (r.out != "unix://"+c.sock+" no such file\n" && r.out != "unix://"+c.sock+" refused connection\n") {
		t.Errorf("status after shutdown: exit %d, %q", r.code, r.out)
	}
}
