// Package pid1 tests the real corral binary as PID 1 of a new PID namespace
// (unshare --pid --fork --mount-proc) and as a child subreaper.
package pid1

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/test/testutil"

	"github.com/corralhq/corral/control"
)

var bins struct {
	corral, helper, orphans, sigrec string
}

func TestMain(m *testing.M) {
	testutil.Main(m, func() (func(), error) {
		dir, err := os.MkdirTemp("", "corral-pid1-")
		if err != nil {
			return nil, err
		}
		built, err := testutil.Build(dir, "cmd/corral", "./testdata/helper")
		if err != nil {
			return nil, err
		}
		bins.corral, bins.helper = built[0], built[1]
		bins.orphans = filepath.Join(dir, "orphans")
		bins.sigrec = filepath.Join(dir, "sigrec")
		for _, c := range [][]string{
			{"gcc", "-O2", "-o", bins.orphans, "testdata/orphans.c"},
			{"gcc", "-O2", "-o", bins.sigrec, "testdata/sigrec.c"},
		} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("%v: %w\n%s", c, err, out)
			}
		}
		return func() { os.RemoveAll(dir) }, nil
	}, testutil.Root, testutil.Command("gcc", "gcc"), testutil.Command("unshare", "util-linux"),
		testutil.Command("setpriv", "util-linux"), testutil.Command("script", "bsdutils"))
}

// instance is one running corral.
type instance struct {
	t       *testing.T
	dir     string
	sock    string
	cmd     *exec.Cmd
	stdout  *testutil.Buffer
	stderr  *testutil.Buffer
	done    chan struct{}
	exitErr error
}

// writeServices lays out service files (name -> TOML) in a new services dir.
func writeServices(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	sd := filepath.Join(dir, "services.d")
	if err := os.MkdirAll(sd, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(sd, name+".toml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// start runs corral on dir's services.d; with pidns it is PID 1 of a new
// PID namespace. main is the main command, if any.
func start(t *testing.T, dir string, pidns bool, main ...string) *instance {
	t.Helper()
	return startWith(t, dir, pidns, nil, main...)
}

// startWith is start with extra corral flags.
func startWith(t *testing.T, dir string, pidns bool, flags []string, main ...string) *instance {
	t.Helper()
	sock := filepath.Join(dir, "control.sock")
	args := append([]string{"--services-dir", filepath.Join(dir, "services.d"), "--socket", sock,
		"--log-dir", filepath.Join(dir, "log")}, flags...)
	if len(main) > 0 {
		args = append(append(args, "--"), main...)
	}
	var cmd *exec.Cmd
	if pidns {
		cmd = exec.Command("unshare", append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", bins.corral}, args...)...)
	} else {
		cmd = exec.Command(bins.corral, args...)
	}
	in := &instance{t: t, dir: dir, sock: sock, cmd: cmd, stdout: &testutil.Buffer{}, stderr: &testutil.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = in.stdout, in.stderr
	cmd.Env = append(os.Environ(), "HELPER="+bins.helper, "ORPHANS="+bins.orphans, "DIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting corral (unshare is in Debian's util-linux): %v", err)
	}
	go func() { in.exitErr = cmd.Wait(); close(in.done) }()
	t.Cleanup(func() {
		select {
		case <-in.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-in.done
		}
		if t.Failed() {
			t.Logf("corral stdout (end):\n%s\ncorral stderr (end):\n%s", tail(in.stdout.String()), tail(in.stderr.String()))
		}
	})
	return in
}

// corralPID returns the root-namespace pid of corral itself (the child of
// unshare when it runs in a PID namespace).
func (in *instance) corralPID() int {
	in.t.Helper()
	pid := in.cmd.Process.Pid
	if in.cmd.Args[0] != "unshare" {
		return pid
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			c, _ := strconv.Atoi(f[0])
			return c
		}
		time.Sleep(5 * time.Millisecond)
	}
	in.t.Fatal("corral did not start under unshare")
	return 0
}

// signal sends sig to corral.
func (in *instance) signal(sig syscall.Signal) {
	in.t.Helper()
	if err := syscall.Kill(in.corralPID(), sig); err != nil {
		in.t.Fatalf("signalling corral: %v", err)
	}
}

// wait waits for corral to exit and returns its exit code.
func (in *instance) wait(timeout time.Duration) int {
	in.t.Helper()
	select {
	case <-in.done:
	case <-time.After(timeout):
		in.t.Fatalf("corral did not exit within %s", timeout)
	}
	if in.exitErr == nil {
		return 0
	}
	if ee, ok := in.exitErr.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	in.t.Fatalf("waiting for corral: %v", in.exitErr)
	return -1
}

// status asks corral for its services over the control socket.
func (in *instance) status() []control.ServiceStatus {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sr, err := control.NewClient(in.sock).Status(ctx)
	if err != nil {
		in.t.Fatalf("status: %v", err)
	}
	return sr.Services
}

// waitState waits until service name is in state want.
func (in *instance) waitState(name string, want control.State, timeout time.Duration) control.ServiceStatus {
	in.t.Helper()
	deadline := time.Now().Add(timeout)
	var last control.ServiceStatus
	for time.Now().Before(deadline) {
		if _, err := os.Stat(in.sock); err == nil {
			for _, st := range in.status() {
				if st.Name == name {
					last = st
					if st.State == want {
						return st
					}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	in.t.Fatalf("service %s: want %s, last seen %s (%s)", name, want, last.State, last.Reason)
	return last
}

// waitFile waits until path exists and returns its content.
func waitFile(t *testing.T, path string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s did not appear within %s", path, timeout)
	return ""
}

// zombieChildren counts zombie children of pid.
func zombieChildren(pid int) (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	n := 0
	want := "PPid:\t" + strconv.Itoa(pid) + "\n"
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		s := string(b)
		if strings.Contains(s, want) && strings.Contains(s, "State:\tZ") {
			n++
		}
	}
	return n, nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	return !strings.Contains(string(b), "State:\tZ")
}

// tail returns the last 4 KiB of s, for failure logs.
func tail(s string) string {
	if len(s) > 4096 {
		return "..." + s[len(s)-4096:]
	}
	return s
}
