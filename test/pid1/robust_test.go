package pid1

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/internal/earlysignal"
)

// The PID-1 duties tini's and dumb-init's own tests check, and the start-up
// defects of issue 10, each against the real binary.

// recorded returns the signal numbers sigrec wrote to path (after "ready").
func recorded(path string) []int {
	var out []int
	for _, f := range strings.Fields(readFile(path)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// waitRecorded waits until sigrec recorded sig.
func waitRecorded(t *testing.T, path string, sig syscall.Signal) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if slices.Contains(recorded(path), int(sig)) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the main command never received %s (got %v)", sig, recorded(path))
}

// TestSignalTable sends every signal from 1 to 31 to corral as PID 1 and
// checks the README's table: corral stays alive; SIGCHLD, SIGPIPE, SIGURG
// and SIGPROF are not passed on (a closed console raises SIGPIPE in corral
// itself; the last two belong to the Go runtime); every other catchable signal reaches the main command
// (SIGHUP too, beside the reread); SIGTERM ends it all with the main
// command's code. tini ignores SIGSEGV & co. as PID 1 and dumb-init
// forwards them; corral forwards them, and never dies of one sent by kill.
func TestSignalTable(t *testing.T) {
	dir := writeServices(t, map[string]string{"svc": `command = "sleep 1000"`})
	got := filepath.Join(dir, "got")
	in := start(t, dir, true, bins.sigrec, got)
	waitFile(t, got, 10*time.Second)
	pid := in.corralPID()
	// Not passed on: send them first, then a marker that is.
	for _, sig := range []syscall.Signal{syscall.SIGCHLD, syscall.SIGPIPE, syscall.SIGURG, syscall.SIGPROF} {
		in.signal(sig)
	}
	in.signal(syscall.SIGUSR1)
	waitRecorded(t, got, syscall.SIGUSR1)
	for sig := syscall.Signal(1); sig <= 31; sig++ {
		switch sig {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD, syscall.SIGPIPE, syscall.SIGURG, syscall.SIGPROF, syscall.SIGUSR1:
			continue
		}
		in.signal(sig)
		waitRecorded(t, got, sig)
		if !alive(pid) {
			t.Fatalf("corral died of %s", sig)
		}
	}
	for _, n := range recorded(got) {
		if n == int(syscall.SIGCHLD) || n == int(syscall.SIGPIPE) || n == int(syscall.SIGURG) || n == int(syscall.SIGPROF) {
			t.Fatalf("signal %d was passed on; the table says never", n)
		}
	}
	in.signal(syscall.SIGTERM)
	if code := in.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want the main command's 0", code)
	}
	if !slices.Contains(recorded(got), int(syscall.SIGTERM)) {
		t.Fatal("the main command did not get SIGTERM at shutdown")
	}
}

// TestStraySignalsWithoutMainCommand: with no main command the signals
// corral would pass on are ignored, and SIGINT shuts down cleanly.
func TestStraySignalsWithoutMainCommand(t *testing.T) {
	dir := writeServices(t, map[string]string{"svc": `command = "sleep 1000"`})
	in := start(t, dir, true)
	in.waitState("svc", control.Running, 10*time.Second)
	pid := in.corralPID()
	for _, sig := range []syscall.Signal{syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGTRAP,
		syscall.SIGABRT, syscall.SIGSYS, syscall.Signal(16) /* SIGSTKFLT */, syscall.SIGPIPE, syscall.SIGALRM,
		syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGXCPU, syscall.SIGPWR} {
		in.signal(sig)
	}
	in.waitState("svc", control.Running, 5*time.Second) // answers: still alive and serving
	if !alive(pid) {
		t.Fatal("corral died of a stray signal")
	}
	in.signal(syscall.SIGINT)
	if code := in.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0", code)
	}
	if strings.Contains(in.stderr.String(), "goroutine ") {
		t.Fatalf("a Go stack dump:\n%s", tail(in.stderr.String()))
	}
}

// TestTerminalThatIsNotOurs: stdin is a terminal, but not corral's
// controlling terminal (setsid under script). tini and dumb-init run the
// main command; so does corral, without taking the terminal.
func TestTerminalThatIsNotOurs(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatal("script (Debian's bsdutils) is needed")
	}
	dir := writeServices(t, nil)
	inner := fmt.Sprintf("setsid -w %s --services-dir %s --socket '' --no-log-files -- sh -c 'echo from-main; exit 5'",
		bins.corral, filepath.Join(dir, "services.d"))
	out, err := exec.Command("script", "-qec", inner, "/dev/null").CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 5 || !strings.Contains(string(out), "from-main") {
		t.Fatalf("exit %d, output %q; want 5 and the main command's line", code, out)
	}
}

// TestMainCommandWaitsForOneshot: a oneshot is settled only when it exits,
// so the main command starts after it (the README and services/doc.go say
// so).
func TestMainCommandWaitsForOneshot(t *testing.T) {
	dir := writeServices(t, map[string]string{
		"prep": "type = \"oneshot\"\ncommand = \"sleep 1; touch $$DIR/done\"\n",
	})
	in := start(t, dir, true, "sh", "-c", `test -e "$DIR/done"`)
	if code := in.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d: the main command ran before the oneshot finished", code)
	}
}

// TestOneshotLinesReachEverySink: a oneshot's last line reaches the console
// and its log file, even when the main command exits at once. (It went
// missing in 3-15 of 40 runs when the main command did not wait.)
func TestOneshotLinesReachEverySink(t *testing.T) {
	for i := range 40 {
		dir := writeServices(t, map[string]string{
			"one": fmt.Sprintf("type = \"oneshot\"\ncommand = \"echo oneshot-line-%d\"\n", i),
		})
		in := start(t, dir, false, "true")
		if code := in.wait(20 * time.Second); code != 0 {
			t.Fatalf("run %d: exit code %d", i, code)
		}
		want := fmt.Sprintf("oneshot-line-%d", i)
		if !strings.Contains(in.stdout.String(), "[one] "+want) {
			t.Fatalf("run %d: console lacks %q:\n%s", i, want, in.stdout.String())
		}
		if log := readFile(filepath.Join(dir, "log", "one", "current")); !strings.Contains(log, want) {
			t.Fatalf("run %d: log file lacks %q:\n%s", i, want, log)
		}
	}
}

// TestWantsNeverHoldsBack: a service that only wants a failing one starts
// anyway, and so does the main command; one that comes after it does not.
func TestWantsNeverHoldsBack(t *testing.T) {
	dir := writeServices(t, map[string]string{
		"forwarder": "command = \"echo cannot start; exit 1\"\n",
		"app":       "command = \"sleep 1000\"\nwants = [\"forwarder\"]\n",
		"strict":    "command = \"sleep 1000\"\nafter = [\"forwarder\"]\n",
	})
	in := start(t, dir, true, "sh", "-c", "echo main-ran; exit 3")
	if code := in.wait(30 * time.Second); code != 3 {
		t.Fatalf("exit code %d, want the main command's 3", code)
	}
	if !strings.Contains(in.stdout.String(), "main-ran") {
		t.Fatal("the main command did not run")
	}
	if !strings.Contains(in.stdout.String(), "[forwarder] cannot start") {
		t.Fatal("the forwarder never ran")
	}
}

// TestWaitServicesBound: the main command waits for the services at most
// --wait-services, then starts anyway saying what is not ready; with
// --wait-services-fatal corral stops with code 1 instead.
func TestWaitServicesBound(t *testing.T) {
	files := map[string]string{
		"slow": "command = \"sleep 1000\"\n[ready]\ntcp = \"127.0.0.1:1\"\ntimeout = \"10m\"\n",
	}
	in := startWith(t, writeServices(t, files), true, []string{"--wait-services", "1s"}, "sh", "-c", "exit 4")
	if code := in.wait(30 * time.Second); code != 4 {
		t.Fatalf("exit code %d, want the main command's 4", code)
	}
	if e := in.stderr.String(); !strings.Contains(e, "not ready in time") || !strings.Contains(e, "slow") {
		t.Fatalf("no message naming the service that is not ready:\n%s", e)
	}
	in = startWith(t, writeServices(t, files), true, []string{"--wait-services", "1s", "--wait-services-fatal"}, "sh", "-c", "exit 4")
	if code := in.wait(30 * time.Second); code != 1 {
		t.Fatalf("exit code %d with --wait-services-fatal, want 1", code)
	}
}

// TestUserKeyAsNonRoot: corral run as a user other than root (docker run
// --user) cannot switch users: a service with user = "root" is an error
// naming its file and key, and the other services run.
func TestUserKeyAsNonRoot(t *testing.T) {
	dir := writeServices(t, map[string]string{
		"asroot": "command = \"sleep 1000\"\nuser = \"root\"\n",
		"plain":  "type = \"oneshot\"\ncommand = \"touch $$DIR/plain-ran\"\n",
	})
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", bins.corral,
		"--services-dir", filepath.Join(dir, "services.d"), "--socket", "", "--no-log-files", "--", "true")
	cmd.Env = append(os.Environ(), "DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("corral as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "asroot.toml") || !strings.Contains(string(out), `cannot run a service as uid 0`) {
		t.Fatalf("no error naming asroot.toml and its user key:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "plain-ran")); err != nil {
		t.Fatal("the other service did not run")
	}
}

// TestCleanExitIsQuiet: `corral -- true` prints nothing of its own, as tini
// and dumb-init print nothing.
func TestCleanExitIsQuiet(t *testing.T) {
	dir := writeServices(t, nil)
	in := start(t, dir, true, "true")
	if code := in.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if s := in.stdout.String() + in.stderr.String(); s != "" {
		t.Fatalf("corral printed on a clean run:\n%s", s)
	}
}

// TestEarlySIGTERM: docker run then docker stop at once. A SIGTERM a few
// milliseconds after exec is queued until the engine acts on it: corral
// exits cleanly every time, instead of running on (the kernel drops a
// signal PID 1 does not handle) or dying with the Go runtime's exit code 2.
// The signal is sent 0-5 ms after corral's code took the signals, while its
// flags, logger, engine and services are still being set up. (Before that
// are only the Go runtime's own first moments: internal/earlysignal takes
// the signals about 1 ms after exec on an idle machine, as
// `GODEBUG=inittrace=1 corral --version` shows.)
func TestEarlySIGTERM(t *testing.T) {
	dir := writeServices(t, map[string]string{"svc": `command = "sleep 1000"`})
	for i := range 30 {
		marker := filepath.Join(dir, fmt.Sprintf("taken-%d", i))
		t.Setenv(earlysignal.TakenVariable, marker)
		in := start(t, dir, true, "sleep", "1000")
		// Right after corral's code took the signals (internal/earlysignal
		// marks the moment), while flags, the logger, the engine and the
		// services are still being set up.
		waitFile0(t, marker, 10*time.Second)
		time.Sleep(rand.N(5 * time.Millisecond))
		in.signal(syscall.SIGTERM)
		code := in.wait(15 * time.Second)
		if code != 0 && code != 143 {
			t.Fatalf("run %d: exit code %d, want 0 (or the main command's 143)\n%s", i, code, tail(in.stderr.String()))
		}
	}
}

// waitFile0 waits until path exists (it may be empty).
func waitFile0(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %s", path, timeout)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// TestEscapedDaemonStopped: a service that double-forks with setsid leaves
// a daemon outside its process group. When corral is not PID 1 (a child
// subreaper), that daemon still goes when corral exits.
func TestEscapedDaemonStopped(t *testing.T) {
	dir := writeServices(t, map[string]string{
		"forks": "type = \"oneshot\"\ncommand = \"setsid sh -c 'echo $$$$ > $$DIR/daemon.pid; exec sleep 1000' & sleep 0.5\"\n",
	})
	in := start(t, dir, false, "sh", "-c", `while [ ! -s "$DIR/daemon.pid" ]; do sleep 0.05; done`)
	if code := in.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(filepath.Join(dir, "daemon.pid"))))
	if err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the escaped daemon %d outlived corral", pid)
	}
}
