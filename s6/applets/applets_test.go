package applets

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
)

func TestGetopt(t *testing.T) {
	g := getopt{args: []string{"-wU", "-T", "500", "-rd", "--", "-notaflag", "dir"}, spec: "abrdw:T:"}
	var got []string
	for {
		opt, arg, err := g.next()
		if err != nil {
			t.Fatal(err)
		}
		if opt == 0 {
			break
		}
		got = append(got, string(opt)+arg)
	}
	if want := []string{"wU", "T500", "r", "d"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("options %q, want %q", got, want)
	}
	if rest := g.rest(); !reflect.DeepEqual(rest, []string{"-notaflag", "dir"}) {
		t.Fatalf("rest %q", rest)
	}
	g = getopt{args: []string{"-x"}, spec: "ab"}
	if _, _, err := g.next(); err == nil {
		t.Fatal("an unknown option must be an error (s6's usage exit 100)")
	}
}

// TestServiceName: the directories s6 tools are given map to corral's
// service names: /run/service/<name>, its log/ (the -log service), the
// live copies, /var/run spellings, and "." inside a live directory.
func TestServiceName(t *testing.T) {
	for dir, want := range map[string]string{
		"/run/service/svc-app":                    "svc-app",
		"/run/service/app/log":                    "app-log",
		"/var/run/service/app":                    "app",
		"/run/s6-rc/servicedirs/svc-x":            "svc-x",
		"/run/s6/legacy-services/nginx":           "nginx",
		"/run/s6/legacy-services/nginx/log":       "nginx-log",
		"/run/s6-rc:s6-rc-init:abc/servicedirs/x": "x",
		"bare": "bare",
	} {
		if got, err := serviceName(dir); err != nil || got != want {
			t.Errorf("serviceName(%q) = %q, %v; want %q", dir, got, err, want)
		}
	}
	if _, err := serviceName("/etc/passwd"); err == nil {
		t.Error("a path that is no service directory must be an error")
	}
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if err := os.Chdir("/"); err == nil {
		if _, err := serviceName("."); err == nil {
			t.Error(`"." outside a service directory must be an error`)
		}
	}
}

// TestSvstatHuman: s6-svstat's line, as s6 2.13 prints it.
func TestSvstatHuman(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
	up := control.ServiceStatus{State: control.Running, PID: 42, Ready: true, Started: now.Add(-45 * time.Second), Since: now.Add(-44 * time.Second)}
	if got := svstatHuman(up, true, false, now); got != "up (pid 42 pgid 42) 45 seconds, ready 44 seconds" {
		t.Errorf("up: %q", got)
	}
	starting := control.ServiceStatus{State: control.Starting, PID: 42, Started: now.Add(-2 * time.Second)}
	if got := svstatHuman(starting, false, false, now); got != "up (pid 42 pgid 42) 2 seconds, normally down" {
		t.Errorf("starting: %q", got)
	}
	down := control.ServiceStatus{State: control.Stopped, Started: now.Add(-10 * time.Second), Stopped: now.Add(-3 * time.Second),
		LastExit: &plugins.ExitStatus{Signal: syscall.SIGTERM}}
	if got := svstatHuman(down, true, false, now); got != "down (signal SIGTERM) 3 seconds, normally up, ready 3 seconds" {
		t.Errorf("down: %q", got)
	}
	if got := svstatHuman(down, true, true, now); !strings.HasPrefix(got, "down (signal 15) ") {
		t.Errorf("down -n: %q", got)
	}
	backoff := control.ServiceStatus{State: control.Backoff, Started: now.Add(-2 * time.Second), Stopped: now.Add(-time.Second), LastExit: &plugins.ExitStatus{Code: 1}}
	if got := svstatHuman(backoff, true, false, now); got != "down (exitcode 1) 1 seconds, normally up, want up, ready 1 seconds" {
		t.Errorf("backoff: %q", got)
	}
	never := control.ServiceStatus{State: control.Stopped}
	if got := svstatHuman(never, false, false, now); got != "down (not started yet) " {
		t.Errorf("never started: %q", got)
	}
	if got := tai64n(time.Unix(0, 5)); got != "@400000000000000a00000005" {
		t.Errorf("tai64n: %q", got)
	}
}

func TestLinks(t *testing.T) {
	links := map[string]bool{}
	for _, l := range Links("/") {
		links[l.Path] = true
	}
	for _, p := range []string{"/command/with-contenv", "/usr/bin/with-contenv", "/package/admin/s6-overlay/command/with-contenv",
		"/command/s6-svc", "/usr/bin/s6-svc", "/command/cd", "/run/s6/basedir/bin/halt"} {
		if !links[p] {
			t.Errorf("no link %s", p)
		}
	}
	for _, p := range []string{"/usr/bin/cd", "/command/halt", "/command/s6-cont-init", "/command/true"} {
		if links[p] {
			t.Errorf("unexpected link %s", p)
		}
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/bin/with-contenv"), []byte("#!/bin/bash\n"), 0o755)
	made, errs := InstallLinks(root, "/init")
	if len(errs) > 0 || len(made) != len(Links(root))-1 {
		t.Fatalf("made %d links, errors %v", len(made), errs)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "usr/bin/with-contenv")); string(b) != "#!/bin/bash\n" {
		t.Error("an existing with-contenv (linuxserver's wrapper) was replaced")
	}
}
