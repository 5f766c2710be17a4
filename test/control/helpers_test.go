// Package control tests supervisorctl against the real corral binary: both
// are built once into a temporary directory, and each test runs its own
// corral with its own services directory, socket and log directory, over
// real processes (sleep, sh loops). It needs root (a test runs the client as
// nobody) and sh/sleep (Debian: dash, coreutils).
package control

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/test/testutil"

	"github.com/corralhq/corral/control"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// binDir holds the built corral and supervisorctl, readable by everyone.
var binDir string

func TestMain(m *testing.M) {
	testutil.Main(m, func() (func(), error) {
		dir, err := os.MkdirTemp("", "corral-control-bin-")
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(dir, 0o755); err != nil { // nobody runs supervisorctl from here
			return nil, err
		}
		if _, err := testutil.Build(dir, "cmd/corral", "cmd/supervisorctl"); err != nil {
			return nil, err
		}
		binDir = dir
		return func() { os.RemoveAll(dir) }, nil
	}, testutil.Root)
}

// corral is one running corral under test.
type corral struct {
	t       testing.TB
	dir     string // services directory
	sock    string
	logDir  string
	cmd     *exec.Cmd
	out     *testutil.Buffer
	exited  chan struct{}
	client  *control.Client
	metrics string // --metrics-addr, if any
	// wrap, when set, runs corral through it: wrap[0] is run with the
	// rest of wrap, corral's path and its arguments.
	wrap []string
}

// writeFiles writes name -> content into dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// startCorral runs corral over a services directory holding files, and
// waits until its socket answers.
func startCorral(t testing.TB, files map[string]string, extra ...string) *corral {
	t.Helper()
	root := t.TempDir()
	c := &corral{t: t, dir: filepath.Join(root, "services.d"), sock: filepath.Join(root, "run", "control.sock"),
		logDir: filepath.Join(root, "log"), out: &testutil.Buffer{}, exited: make(chan struct{})}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, c.dir, files)
	return c.start(extra...)
}

// start runs the binary over c's directories.
func (c *corral) start(extra ...string) *corral {
	t := c.t
	t.Helper()
	args := append([]string{"--services-dir", c.dir, "--socket", c.sock, "--log-dir", c.logDir}, extra...)
	argv := append([]string{filepath.Join(binDir, "corral")}, args...)
	if len(c.wrap) > 0 {
		argv = append(append([]string{}, c.wrap...), argv...)
	}
	c.cmd = exec.Command(argv[0], argv[1:]...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting corral: %v", err)
	}
	go func() { c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(c.stop)
	c.client = control.NewClient(c.sock)
	waitFor(t, "the control socket to answer", func() (bool, string) {
		select {
		case <-c.exited:
			t.Fatalf("corral exited early:\n%s", c.out.String())
		default:
		}
		_, err := c.client.Status(context.Background())
		return err == nil, fmt.Sprint(err)
	})
	return c
}

// stop shuts corral down (SIGTERM, then SIGKILL of it and its children) and
// logs its output when the test failed.
func (c *corral) stop() {
	if c.t.Failed() {
		c.t.Logf("corral output:\n%s", c.out.String())
	}
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return
	case <-time.After(15 * time.Second):
	}
	killChildren(c.cmd.Process.Pid)
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.exited
}

// killChildren SIGKILLs the process groups of pid's children.
func killChildren(pid int) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[1] == strconv.Itoa(pid) {
			_ = syscall.Kill(-child, syscall.SIGKILL)
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
	}
}

// result is one supervisorctl run.
type result struct {
	out, err string
	code     int
}

// ctl runs supervisorctl against c.
func (c *corral) ctl(args ...string) result {
	c.t.Helper()
	return runCtl(c.t, nil, append([]string{"-s", c.sock}, args...)...)
}

// runCtl runs supervisorctl with args, as cred when not nil.
func runCtl(t testing.TB, cred *syscall.Credential, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "supervisorctl"), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = []string{"PATH=/usr/bin:/bin", "TZ=UTC"}
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running supervisorctl %v: %v", args, err)
	}
	return result{out: out.String(), err: errb.String(), code: code}
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline (this is synchronisation, not a timing assertion).
func waitFor(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (last: %s)", what, last)
}

// status returns the services by name.
func (c *corral) status() map[string]control.ServiceStatus {
	c.t.Helper()
	sr, err := c.client.Status(context.Background())
	if err != nil {
		c.t.Fatalf("status: %v", err)
	}
	m := map[string]control.ServiceStatus{}
	for _, st := range sr.Services {
		m[st.Name] = st
	}
	return m
}

// waitState waits until each named service is in its state.
func (c *corral) waitState(want map[string]control.State) {
	c.t.Helper()
	waitFor(c.t, fmt.Sprintf("states %v", want), func() (bool, string) {
		sts := c.status()
		for name, st := range want {
			if sts[name].State != st {
				return false, fmt.Sprintf("%s is %s", name, sts[name].State)
			}
		}
		return true, ""
	})
}

var (
	rePIDUptime = regexp.MustCompile(`pid \d+, uptime (\d+ days?, )?\d+:\d\d:\d\d`)
	reUptime    = regexp.MustCompile(`uptime (\d+ days?, )?\d+:\d\d:\d\d`)
	reStopTime  = regexp.MustCompile(`[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M`)
	reRestartIn = regexp.MustCompile(`restarting in [0-9hms.µ]+`)
)

// normalise replaces what varies between runs (pids, uptimes, times,
// backoff delays) in supervisorctl output, keeping the column layout.
func normalise(s string) string {
	s = rePIDUptime.ReplaceAllString(s, "pid PID, uptime H:MM:SS")
	s = reUptime.ReplaceAllString(s, "uptime H:MM:SS")
	s = reStopTime.ReplaceAllString(s, "Mon DD HH:MM XM")
	return reRestartIn.ReplaceAllString(s, "restarting in DELAY")
}

// golden compares got with testdata/name (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (go test -update writes it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs\n--- got ---\n%s--- want ---\n%s", name, got, want)
	}
}

// cmdline returns a process's argv joined by spaces.
func cmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}
