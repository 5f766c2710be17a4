package pid1

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/supervisor/output"
)

func TestOrphansAreReaped(t *testing.T) {
	const n = 10000
	dir := writeServices(t, map[string]string{
		"forker": fmt.Sprintf(`command = ["%s", "%d", "${DIR}/forked"]`, bins.orphans, n),
	})
	in := start(t, dir, true)
	waitFile(t, filepath.Join(dir, "forked"), 60*time.Second)
	pid := in.corralPID()
	deadline := time.Now().Add(10 * time.Second)
	zombies := -1
	for time.Now().Before(deadline) {
		var err error
		if zombies, err = zombieChildren(pid); err != nil {
			t.Fatal(err)
		}
		if zombies == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if zombies != 0 {
		t.Fatalf("%d zombies left under corral after %d orphans", zombies, n)
	}
	in.signal(syscall.SIGTERM)
	if code := in.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

func TestMainCommandExitCode(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 1", 1},
		{"exit 7", 7},
		{"exit 255", 255},
		{"kill -TERM $$", 128 + 15},
	} {
		t.Run(tc.script, func(t *testing.T) {
			dir := writeServices(t, map[string]string{
				"svc": `command = "sleep 1000"`,
			})
			in := start(t, dir, true, "sh", "-c", tc.script)
			if code := in.wait(15 * time.Second); code != tc.want {
				t.Fatalf("exit code %d, want %d", code, tc.want)
			}
		})
	}
}

func TestSignalsReachMainCommand(t *testing.T) {
	dir := writeServices(t, map[string]string{"svc": `command = "sleep 1000"`})
	got := filepath.Join(dir, "got")
	script := fmt.Sprintf(`for s in HUP USR1 USR2 WINCH QUIT; do trap "echo $s >> %s" $s; done
trap 'echo TERM >> %s; exit 0' TERM
echo started >> %s
while :; do sleep 0.02; done`, got, got, got)
	in := start(t, dir, true, "sh", "-c", script)
	waitFile(t, got, 10*time.Second)
	want := []string{"started"}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGQUIT} {
		in.signal(sig)
		name := strings.TrimPrefix(strings.ToUpper(strings.TrimPrefix(sigName(sig), "SIG")), "SIG")
		want = append(want, name)
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(readFile(got), name) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	in.signal(syscall.SIGTERM)
	if code := in.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want the main command's 0", code)
	}
	want = append(want, "TERM")
	if lines := strings.Fields(readFile(got)); strings.Join(lines, " ") != strings.Join(want, " ") {
		t.Fatalf("main command got %v, want %v", lines, want)
	}
}

func sigName(s syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGHUP: "HUP", syscall.SIGUSR1: "USR1", syscall.SIGUSR2: "USR2",
		syscall.SIGWINCH: "WINCH", syscall.SIGQUIT: "QUIT"}[s]
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func TestCrashLoopBacksOffThenFatal(t *testing.T) {
	dir := writeServices(t, map[string]string{
		"crash": `command = "date +%s%N >> ${DIR}/starts; exit 1"
max_restarts = 5
restart_window = "60s"
[backoff]
initial = "0s"
min = "100ms"
multiplier = 2
max = "5s"
`,
	})
	in := start(t, dir, true)
	st := in.waitState("crash", control.Fatal, 20*time.Second)
	if st.Restarts != 5 {
		t.Errorf("restarts = %d, want 5", st.Restarts)
	}
	if !strings.Contains(st.Reason, "Exited too quickly") {
		t.Errorf("reason %q", st.Reason)
	}
	var starts []int64
	for _, f := range strings.Fields(readFile(filepath.Join(dir, "starts"))) {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, v)
	}
	if len(starts) != 6 {
		t.Fatalf("%d starts, want 6 (1 + 5 restarts)", len(starts))
	}
	var gaps []time.Duration
	for i := 1; i < len(starts); i++ {
		gaps = append(gaps, time.Duration(starts[i]-starts[i-1]))
	}
	// The first restart is immediate; then 100ms, 200ms, 400ms, 800ms.
	for i := 2; i < len(gaps); i++ {
		if gaps[i] <= gaps[i-1] {
			t.Fatalf("restart delays do not grow: %v", gaps)
		}
	}
	if gaps[1] < 100*time.Millisecond || gaps[4] < 800*time.Millisecond {
		t.Fatalf("restart delays %v shorter than the backoff (100ms, 200ms, 400ms, 800ms)", gaps)
	}
	if gaps[0] >= gaps[1] {
		t.Fatalf("first restart (%v) not faster than the backed-off ones: %v", gaps[0], gaps)
	}
}

func TestAfterWaitsForReadiness(t *testing.T) {
	dir := writeServices(t, map[string]string{
		"db": `command = ["${HELPER}", "listen", "127.0.0.1:47311", "700ms"]
[ready]
tcp = "127.0.0.1:47311"
interval = "20ms"`,
		"app": `after = ["db"]
command = "if ${HELPER} probe 127.0.0.1:47311; then echo open > ${DIR}/seen; else echo closed > ${DIR}/seen; fi; exec sleep 1000"`,
		"init": `type = "oneshot"
command = "sleep 0.3; echo done > ${DIR}/init"`,
		"late": `after = ["init", "app"]
command = "cat ${DIR}/init > ${DIR}/late; exec sleep 1000"`,
	})
	in := start(t, dir, true)
	if got := strings.TrimSpace(waitFile(t, filepath.Join(dir, "seen"), 15*time.Second)); got != "open" {
		t.Fatalf("app started before db's port was open (saw %q)", got)
	}
	if got := strings.TrimSpace(waitFile(t, filepath.Join(dir, "late"), 15*time.Second)); got != "done" {
		t.Fatalf("late started before the oneshot init finished (saw %q)", got)
	}
	in.waitState("init", control.Exited, 5*time.Second)
	in.signal(syscall.SIGTERM)
	in.wait(15 * time.Second)
}

func TestFailedDependencyKeepsDependentDown(t *testing.T) {
	dir := writeServices(t, map[string]string{
		"setup": `type = "oneshot"
command = "exit 4"`,
		"web": `after = ["setup"]
command = "touch ${DIR}/web-ran; exec sleep 1000"`,
	})
	in := start(t, dir, true)
	in.waitState("setup", control.Fatal, 10*time.Second)
	st := in.waitState("web", control.Fatal, 10*time.Second)
	if !strings.Contains(st.Reason, "dependency setup failed") {
		t.Fatalf("web reason %q, want it to name the failed dependency", st.Reason)
	}
	if _, err := os.Stat(filepath.Join(dir, "web-ran")); err == nil {
		t.Fatal("web ran although its dependency failed")
	}
}

func TestEssentialFatalStopsContainer(t *testing.T) {
	dir := writeServices(t, map[string]string{
		"core": `command = "exit 1"
essential = true
max_restarts = 2
[backoff]
min = "10ms"`,
		"other": `command = "sleep 1000"`,
	})
	in := start(t, dir, true, "sleep", "1000")
	if code := in.wait(20 * time.Second); code == 0 {
		t.Fatal("corral exited 0 after an essential service went FATAL")
	}
}

func TestStopTimeoutKillsIgnoringGroup(t *testing.T) {
	// Not in a PID namespace: were corral to leave them, the processes
	// would outlive it, and the test would see them.
	dir := writeServices(t, map[string]string{
		"stubborn": `command = '''trap "" TERM
sleep 1000 & echo $! >> ${DIR}/pids
sh -c 'sleep 1000 & echo $! >> ${DIR}/pids; wait' &
echo $$$$ >> ${DIR}/pids
wait'''
stop_timeout = "1s"`,
	})
	in := start(t, dir, false)
	deadline := time.Now().Add(10 * time.Second)
	for len(strings.Fields(readFile(filepath.Join(dir, "pids")))) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var pids []int
	for _, f := range strings.Fields(readFile(filepath.Join(dir, "pids"))) {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	if len(pids) < 3 {
		t.Fatalf("service wrote pids %v", pids)
	}
	began := time.Now()
	in.signal(syscall.SIGTERM)
	if code := in.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if waited := time.Since(began); waited < time.Second {
		t.Fatalf("corral exited after %v, before the 1s stop_timeout: the group ignored SIGTERM", waited)
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("pid %d survived the stop", p)
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

func TestShutdownStopsInReverseOrderWithoutWaiting(t *testing.T) {
	svc := func(name string, after ...string) string {
		a := ""
		if len(after) > 0 {
			a = fmt.Sprintf("after = [%q]\n", after[0])
		}
		return a + fmt.Sprintf(`command = '''trap 'echo %s >> ${DIR}/stopped; exit 0' TERM
echo up > ${DIR}/%s.up
while :; do sleep 0.05; done'''
stop_timeout = "60s"
`, name, name)
	}
	files := map[string]string{
		"db":    svc("db"),
		"api":   svc("api", "db"),
		"front": svc("front", "api"),
	}
	for i := 0; i < 17; i++ {
		files[fmt.Sprintf("idle%02d", i)] = `command = "sleep 1000"
stop_timeout = "60s"`
	}
	dir := writeServices(t, files)
	in := start(t, dir, true)
	for _, n := range []string{"db", "api", "front"} {
		waitFile(t, filepath.Join(dir, n+".up"), 10*time.Second)
	}
	in.waitState("front", control.Running, 10*time.Second)
	began := time.Now()
	in.signal(syscall.SIGTERM)
	if code := in.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0 after a clean SIGTERM", code)
	}
	// With a 60 s stop_timeout, anything near it means corral waited for
	// something that had already exited.
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("shutdown took %v: corral idled instead of exiting when the services were gone", took)
	}
	if got := strings.Fields(readFile(filepath.Join(dir, "stopped"))); strings.Join(got, ",") != "front,api,db" {
		t.Fatalf("stop order %v, want front,api,db", got)
	}
}

func TestOutputPrefixedWholeLines(t *testing.T) {
	long := 200 << 10
	dir := writeServices(t, map[string]string{
		"aaa":    `command = "i=0; while [ $$i -lt 300 ]; do printf '%0500d\n' 1 | tr 0 a; i=$$((i+1)); done; exec sleep 1000"`,
		"bbb":    `command = "i=0; while [ $$i -lt 300 ]; do printf '%0500d\n' 2 | tr 0 b >&2; i=$$((i+1)); done; exec sleep 1000"`,
		"nonl":   "command = \"printf 'last line without newline'\"\nrestart = \"never\"",
		"huge":   fmt.Sprintf(`command = "head -c %d /dev/zero | tr '\\0' x; echo; exec sleep 1000"`, long),
		"silent": "command = \"echo quiet\"\nrestart = \"never\"\n[log]\nprefix = false",
	})
	in := start(t, dir, true)
	deadline := time.Now().Add(20 * time.Second)
	count := func(s, prefix string) int {
		n := 0
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, prefix) {
				n++
			}
		}
		return n
	}
	for time.Now().Before(deadline) {
		if count(in.stdout.String(), "[aaa] ") >= 300 && count(in.stderr.String(), "[bbb] ") >= 300 &&
			strings.Contains(in.stdout.String(), "[nonl] last line without newline") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	in.signal(syscall.SIGTERM)
	in.wait(15 * time.Second)
	out, errOut := in.stdout.String(), in.stderr.String()
	wantA := "[aaa] " + strings.Repeat("a", 499) + "1"
	wantB := "[bbb] " + strings.Repeat("b", 499) + "2"
	if n := count(out, "[aaa] "); n != 300 {
		t.Fatalf("%d [aaa] lines, want 300", n)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "[aaa] ") && l != wantA {
			t.Fatalf("mangled line %q", l)
		}
	}
	var bLines int
	for _, l := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(l, "[bbb] ") {
			bLines++
			if l != wantB {
				t.Fatalf("mangled stderr line %q", l)
			}
		}
	}
	if bLines != 300 {
		t.Fatalf("%d [bbb] lines on stderr, want 300", bLines)
	}
	if !strings.Contains(out, "[nonl] last line without newline\n") {
		t.Fatal("last line without newline was lost")
	}
	if !strings.Contains(out, "\nquiet\n") && !strings.HasPrefix(out, "quiet\n") {
		t.Fatal("unprefixed service line missing")
	}
	xs := 0
	var pieces []int
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "[huge] ") {
			body := strings.TrimPrefix(l, "[huge] ")
			if strings.Trim(body, "x") != "" {
				t.Fatalf("huge line piece holds more than x: %.40q", body)
			}
			xs += len(body)
			pieces = append(pieces, len(body))
		}
	}
	sort.Ints(pieces)
	if xs != long || len(pieces) < 2 || pieces[len(pieces)-1] > output.MaxLine {
		t.Fatalf("huge line: %d bytes in pieces %v, want %d bytes in pieces of at most %d", xs, pieces, long, output.MaxLine)
	}
}

func TestSIGHUPAppliesServiceFiles(t *testing.T) {
	dir := writeServices(t, map[string]string{"old": `command = "sleep 1000"`})
	in := startWith(t, dir, true, []string{"--no-watch"})
	in.waitState("old", control.Running, 10*time.Second)
	if err := os.WriteFile(filepath.Join(dir, "services.d", "new.toml"), []byte(`command = "echo new > ${DIR}/new; exec sleep 1000"`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "services.d", "old.toml")); err != nil {
		t.Fatal(err)
	}
	in.signal(syscall.SIGHUP)
	waitFile(t, filepath.Join(dir, "new"), 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		names := []string{}
		for _, st := range in.status() {
			names = append(names, st.Name)
		}
		if strings.Join(names, ",") == "new" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("services after SIGHUP: %v, want [new]", names)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLastOutputIsKeptAtShutdown(t *testing.T) {
	dir := writeServices(t, map[string]string{
		"chatty": `command = '''trap 'i=0; while [ $$i -lt 3000 ]; do echo "bye $$i"; i=$$((i+1)); done; exit 0' TERM
while :; do sleep 0.05; done'''`,
	})
	in := start(t, dir, true)
	in.waitState("chatty", control.Running, 10*time.Second)
	in.signal(syscall.SIGTERM)
	if code := in.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if n := strings.Count(in.stdout.String(), "[chatty] bye "); n != 3000 {
		t.Errorf("console got %d of the 3000 lines printed while stopping", n)
	}
	file := readFile(filepath.Join(dir, "log", "chatty", "current"))
	if n := strings.Count(file, " bye "); n != 3000 {
		t.Errorf("log file got %d of the 3000 lines printed while stopping", n)
	}
}

func TestClosedStdoutDoesNotKillCorral(t *testing.T) {
	dir := writeServices(t, map[string]string{
		"talker": `command = "while :; do echo talk; sleep 0.01; done"`,
	})
	sock := filepath.Join(dir, "control.sock")
	cmd := exec.Command(bins.corral, "--services-dir", filepath.Join(dir, "services.d"), "--socket", sock,
		"--log-dir", filepath.Join(dir, "log"), "--", "sh", "-c", "sleep 1; exit 5")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	buf := make([]byte, 64)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	r.Close() // like `corral ... | head -n 1`
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 5 {
			t.Fatalf("corral ended with %v, want the main command's exit code 5", err)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("corral did not exit")
	}
}
