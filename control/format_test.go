package control

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// now is the fixed clock of the format tests: Nov 24 2026 21:30:00 UTC.
var now = time.Date(2026, 11, 24, 21, 30, 0, 0, time.UTC)

func TestFormatUptime(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00:00"},
		{62 * time.Second, "0:01:02"},
		{62*time.Second + 999*time.Millisecond, "0:01:02"},
		{10*time.Hour + 5*time.Second, "10:00:05"},
		{24*time.Hour - time.Second, "23:59:59"},
		{24 * time.Hour, "1 day, 0:00:00"},
		{26*time.Hour + 3*time.Minute + 4*time.Second, "1 day, 2:03:04"},
		{2*24*time.Hour + 2*time.Hour + 3*time.Minute + 4*time.Second, "2 days, 2:03:04"},
		{400 * 24 * time.Hour, "400 days, 0:00:00"},
		{-5 * time.Second, "0:00:00"},
	} {
		if got := FormatUptime(tc.d); got != tc.want {
			t.Errorf("FormatUptime(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// everyState is one service per state and description case.
func everyState() []ServiceStatus {
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	return []ServiceStatus{
		{Name: "web", State: Running, PID: 123, Started: ago(62 * time.Second)},
		{Name: "cron", State: Running, PID: 4567, Started: ago(26*time.Hour + 3*time.Minute + 4*time.Second)},
		{Name: "db", State: Running, PID: 99, Started: ago(50*time.Hour + 3*time.Minute + 4*time.Second)},
		{Name: "serf", Type: "plugin", Plugin: "serf", State: Running, Started: ago(5 * time.Minute), Reason: "3 members alive"},
		{Name: "template", Type: "plugin", Plugin: "template", State: Running, Started: ago(90 * time.Second)},
		{Name: "starting", State: Starting, PID: 321, Started: ago(time.Second)},
		{Name: "stopping", State: Stopping, PID: 322, Started: ago(time.Hour)},
		{Name: "flappy", State: Backoff, Reason: "Exited too quickly (process log may have details)", Started: ago(time.Second), Stopped: ago(0)},
		{Name: "noreason", State: Backoff},
		{Name: "broken", State: Fatal, Reason: "spawn error: fork/exec /usr/bin/nope: no such file or directory"},
		{Name: "gaveup", State: Fatal, Reason: "Exited too quickly (process log may have details)", Started: ago(time.Minute), Stopped: ago(time.Minute)},
		{Name: "idle", State: Stopped},
		{Name: "stopped", State: Stopped, Started: ago(2 * time.Hour), Stopped: time.Date(2026, 11, 24, 21, 15, 0, 0, time.UTC)},
		{Name: "morning", State: Stopped, Started: ago(20 * time.Hour), Stopped: time.Date(2026, 11, 24, 9, 5, 0, 0, time.UTC)},
		{Name: "init", Type: "oneshot", State: Exited, Started: ago(3 * time.Minute), Stopped: time.Date(2026, 11, 24, 21, 27, 0, 0, time.UTC),
			LastExit: &plugins.ExitStatus{Code: 0}},
		{Name: "killed", State: Exited, Started: ago(3 * time.Minute), Stopped: time.Date(2026, 1, 2, 0, 7, 0, 0, time.UTC),
			LastExit: &plugins.ExitStatus{Signal: syscall.SIGKILL}},
	}
}

func TestStatusLinesEveryState(t *testing.T) {
	got := strings.Join(StatusLines(everyState(), now, time.UTC), "\n") + "\n"
	golden(t, "status_every_state.golden", got)
	// The layout itself, independently of the golden file: name column 33
	// wide (30+3), state column 10 wide.
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if len(l) < 43 || l[32] != ' ' || l[33] == ' ' {
			t.Errorf("line not in 33+10 columns: %q", l)
		}
	}
}

func TestStatusLinesLongNames(t *testing.T) {
	long := "a-really-long-service-name-for-testing-0123456789" // 49 runes
	sts := []ServiceStatus{
		{Name: long, State: Running, PID: 7, Started: now.Add(-3 * time.Second)},
		{Name: "short", State: Stopped},
		{Name: "grp", Group: "other", State: Starting},
	}
	got := strings.Join(StatusLines(sts, now, time.UTC), "\n") + "\n"
	golden(t, "status_long_names.golden", got)
	if want := long + "   RUNNING   pid 7, uptime 0:00:03"; !strings.HasPrefix(got, want+"\n") {
		t.Errorf("first line = %q, want %q", strings.SplitN(got, "\n", 2)[0], want)
	}
}

func TestStopTimeIsLocal(t *testing.T) {
	loc := time.FixedZone("X", -5*3600)
	st := ServiceStatus{Name: "x", State: Stopped, Started: now.Add(-time.Hour), Stopped: now}
	if got, want := Description(st, now, loc), "Nov 24 04:30 PM"; got != want {
		t.Errorf("Description = %q, want %q", got, want)
	}
}

func TestRereadAndUpdateLines(t *testing.T) {
	d := ConfigDiff{
		Added:   []string{"zeta", "alpha"},
		Changed: []string{"mid"},
		Removed: []string{"gone"},
		Errors:  []string{`/etc/services.d/bad.toml:3: unknown key "comand"`},
	}
	got := "# reread\n" + strings.Join(RereadLines(d), "\n") + "\n# update\n" + strings.Join(UpdateLines(d), "\n") + "\n" +
		"# reread, nothing\n" + strings.Join(RereadLines(ConfigDiff{}), "\n") + "\n"
	golden(t, "reread_update.golden", got)
}

func TestSplitName(t *testing.T) {
	for _, tc := range []struct {
		in    string
		name  string
		group bool
	}{
		{"web", "web", false},
		{"web:web", "web", false},
		{"web:*", "web", true},
		{"web:", "web", true},
		{"web:other", "", false},
	} {
		n, g := SplitName(tc.in)
		if n != tc.name || g != tc.group {
			t.Errorf("SplitName(%q) = %q, %v; want %q, %v", tc.in, n, g, tc.name, tc.group)
		}
	}
}
