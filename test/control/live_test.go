package control

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/test/testutil"
)

// applies reads corral_config_applies_total.
func (c *corral) applies() float64 {
	c.t.Helper()
	v, ok := sample(parseMetrics(c.t, c.metricsText()), "corral_config_applies_total", "")
	if !ok {
		c.t.Fatal("/metrics has no corral_config_applies_total")
	}
	return v
}

// waitPID waits until name runs with a pid other than old whose command
// line contains cmd, and returns it.
func (c *corral) waitPID(name string, old int, cmd string) int {
	c.t.Helper()
	var pid int
	waitFor(c.t, fmt.Sprintf("%s to run %q with a new pid", name, cmd), func() (bool, string) {
		st := c.status()[name]
		pid = st.PID
		return st.State == control.Running && pid != old && strings.Contains(cmdline(pid), cmd),
			fmt.Sprintf("%s pid %d %q", st.State, pid, cmdline(pid))
	})
	return pid
}

func sleepFile(secs int) string { return fmt.Sprintf("command = [\"sleep\", \"%d\"]\n", secs) }

func TestLiveAddChangeRemove(t *testing.T) {
	c := startCorral(t, map[string]string{"web.toml": sleepFile(1000), "db.toml": sleepFile(2000)})
	c.waitState(map[string]control.State{"web": control.Running, "db": control.Running})
	web0, db0 := c.status()["web"].PID, c.status()["db"].PID

	// Add.
	writeFiles(t, c.dir, map[string]string{"cache.toml": sleepFile(3000)})
	c.waitPID("cache", 0, "sleep 3000")

	// Change: only that service restarts, with the new definition.
	writeFiles(t, c.dir, map[string]string{"web.toml": sleepFile(1001)})
	c.waitPID("web", web0, "sleep 1001")
	if alive(web0) {
		t.Errorf("the old web (pid %d) still runs", web0)
	}
	if st := c.status()["db"]; st.PID != db0 {
		t.Errorf("db restarted (pid %d -> %d) by a change to web", db0, st.PID)
	}

	// Remove.
	cache := c.status()["cache"].PID
	if err := os.Remove(filepath.Join(c.dir, "cache.toml")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "cache to go away", func() (bool, string) {
		_, ok := c.status()["cache"]
		return !ok && !alive(cache), fmt.Sprintf("listed %v, alive %v", ok, alive(cache))
	})
	if r := c.ctl("status", "cache"); r.code != 4 || r.out != "cache: ERROR (no such process)\n" {
		t.Errorf("status cache after removal: exit %d, %q", r.code, r.out)
	}
}

func TestLiveRenameOver(t *testing.T) {
	c := startCorral(t, map[string]string{"web.toml": sleepFile(1000)})
	c.waitState(map[string]control.State{"web": control.Running})
	web0 := c.status()["web"].PID
	// An editor's atomic save: write a temporary file, rename it over.
	tmp := filepath.Join(c.dir, ".web.toml.swp")
	if err := os.WriteFile(tmp, []byte(sleepFile(1002)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "web.toml")); err != nil {
		t.Fatal(err)
	}
	c.waitPID("web", web0, "sleep 1002")
	// The temporary file never became a service.
	for name := range c.status() {
		if name != "web" {
			t.Errorf("unexpected service %q", name)
		}
	}
}

func TestLiveSymlinkSwap(t *testing.T) {
	// The layout of a Kubernetes ConfigMap volume: keys are symlinks to
	// ..data/<key>, ..data is a symlink to a timestamped directory, and an
	// update swaps ..data with one rename.
	root := t.TempDir()
	dir := filepath.Join(root, "services.d")
	mkver := func(name string, files map[string]string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, p, files)
	}
	mkver("..2026_11_24_v1", map[string]string{"web.toml": sleepFile(1000), "db.toml": sleepFile(2000)})
	if err := os.Symlink("..2026_11_24_v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"web.toml", "db.toml"} {
		if err := os.Symlink(filepath.Join("..data", k), filepath.Join(dir, k)); err != nil {
			t.Fatal(err)
		}
	}
	c := &corral{t: t, dir: dir, sock: filepath.Join(root, "run", "control.sock"), logDir: filepath.Join(root, "log"),
		out: &testutil.Buffer{}, exited: make(chan struct{})}
	c.start()
	c.waitState(map[string]control.State{"web": control.Running, "db": control.Running})
	web0, db0 := c.status()["web"].PID, c.status()["db"].PID

	mkver("..2026_11_24_v2", map[string]string{"web.toml": sleepFile(1003), "db.toml": sleepFile(2000)})
	if err := os.Symlink("..2026_11_24_v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "..2026_11_24_v1")); err != nil {
		t.Fatal(err)
	}
	c.waitPID("web", web0, "sleep 1003")
	if st := c.status()["db"]; st.PID != db0 || st.State != control.Running {
		t.Errorf("db (unchanged) was restarted by the swap: pid %d -> %d, %s", db0, st.PID, st.State)
	}
}

func TestLiveInvalidEditKeepsOldVersion(t *testing.T) {
	c := startCorral(t, map[string]string{"web.toml": sleepFile(1000)})
	c.waitState(map[string]control.State{"web": control.Running})
	web0 := c.status()["web"].PID
	applies0 := c.applies()

	writeFiles(t, c.dir, map[string]string{"web.toml": "comand = [\"sleep\", \"1004\"]\n"})
	waitFor(t, "the config error to show in status", func() (bool, string) {
		st := c.status()["web"]
		return st.ConfigError != "", st.ConfigError
	})
	st := c.status()["web"]
	if st.PID != web0 || st.State != control.Running || !alive(web0) {
		t.Errorf("web after an invalid edit: %s pid %d (was %d)", st.State, st.PID, web0)
	}
	for _, want := range []string{"web.toml", "1", "comand"} {
		if !strings.Contains(st.ConfigError, want) {
			t.Errorf("config error %q does not name %q", st.ConfigError, want)
		}
	}
	r := c.ctl("status")
	if r.code != 0 || !strings.HasPrefix(r.out, "web ") || !rePIDUptime.MatchString(r.out) ||
		!strings.Contains(r.err, "web: ERROR (service file not applied") || !strings.Contains(r.err, "comand") {
		t.Errorf("status with a bad file: exit %d\nstdout %q\nstderr %q", r.code, r.out, r.err)
	}
	r = c.ctl("reread")
	if r.code != 1 || !strings.Contains(r.out, "ERROR: ") || !strings.Contains(r.out, "web.toml") {
		t.Errorf("reread with a bad file: exit %d, %q", r.code, r.out)
	}
	if got := c.applies(); got != applies0 {
		t.Errorf("applies went %v -> %v for an invalid edit", applies0, got)
	}

	// Fixed: the new version runs and the error is gone.
	writeFiles(t, c.dir, map[string]string{"web.toml": sleepFile(1005)})
	c.waitPID("web", web0, "sleep 1005")
	waitFor(t, "the config error to clear", func() (bool, string) {
		st := c.status()["web"]
		return st.ConfigError == "", st.ConfigError
	})
	if r := c.ctl("reread"); r.code != 0 || r.out != "No config updates to processes\n" {
		t.Errorf("reread after the fix: exit %d, %q", r.code, r.out)
	}
}

func TestLiveBurstIsOneApply(t *testing.T) {
	c := startCorral(t, map[string]string{"web.toml": sleepFile(1000)})
	c.waitState(map[string]control.State{"web": control.Running})
	before := c.applies()
	files := map[string]string{}
	want := map[string]control.State{}
	for i := range 100 {
		name := fmt.Sprintf("burst%03d", i)
		files[name+".toml"] = sleepFile(5000 + i)
		want[name] = control.Running
	}
	writeFiles(t, c.dir, files)
	c.waitState(want)
	// Give a second apply, if there were to be one, time to happen: the
	// watch waits at most 10 quiet periods (1s by default) after a burst.
	time.Sleep(2 * time.Second)
	if got := c.applies(); got != before+1 {
		t.Errorf("100 files written at once gave %v applies, want 1", got-before)
	}
	if n := len(c.status()); n != 101 {
		t.Errorf("%d services, want 101", n)
	}
}
