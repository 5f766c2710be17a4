package control

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/test/testutil"
)

// raceDuration is how long TestSocketSymlinkRace races: 30 s (issue 14's
// minimum), or CORRAL_RACE_SECONDS.
func raceDuration(t *testing.T) time.Duration {
	if v := os.Getenv("CORRAL_RACE_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("CORRAL_RACE_SECONDS=%q", v)
		}
		return time.Duration(n) * time.Second
	}
	return 30 * time.Second
}

// TestSocketSymlinkRace starts corral over and over with --socket-group,
// for raceDuration, while nobody swaps every entry that appears in the
// socket's directory for a symbolic link to a root-only file (the attack
// of issue 14, item 1), turn about in a directory writable by all (corral
// must refuse it, naming it) and in a sticky one owned by root (corral
// must make its socket there, 0660 root:65534). The file must never
// change.
func TestSocketSymlinkRace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test must run as root: it races corral as nobody (uid 65534)")
	}
	target := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(target, []byte("root only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := fileState(t, target)

	open := filepath.Join(t.TempDir(), "open")
	sticky := filepath.Join(t.TempDir(), "sticky")
	for dir, mode := range map[string]os.FileMode{open: 0o777, sticky: 0o777 | os.ModeSticky} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		openPath(t, dir)
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
	var swaps atomic.Int64
	for _, dir := range []string{open, sticky} {
		_, out := playRole(t, nobody, "attacker", dir, target)
		go func() {
			for out.Scan() {
				if strings.HasPrefix(out.Text(), "swapped") {
					swaps.Add(1)
				}
			}
		}()
	}

	services := filepath.Join(t.TempDir(), "services.d")
	if err := os.Mkdir(services, 0o755); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(raceDuration(t))
	rounds := map[string]int{}
	wrong := 0 // rounds where corral did not do as it should
	for round := 0; time.Now().Before(deadline); round++ {
		dir := open
		if round%2 == 1 {
			dir = sticky
		}
		sock := filepath.Join(dir, "control.sock")
		out, answered := raceRound(t, services, sock)
		if got := fileState(t, target); got != want {
			t.Fatalf("round %d: %s changed: %s, was %s; corral said:\n%s", round, target, got, want, out)
		}
		bad := ""
		switch {
		case dir == open && (answered || !strings.Contains(out, "control socket disabled") || !strings.Contains(out, open+" is writable by others")):
			bad = fmt.Sprintf("corral did not refuse %s (answered %v)", open, answered)
		case dir == sticky && !answered:
			bad = "no control socket in " + sticky
		}
		if bad != "" {
			// Go on racing: the file must not change either way.
			if wrong++; wrong <= 3 {
				t.Errorf("round %d: %s:\n%s", round, bad, out)
			}
		}
		rounds[dir]++
	}
	if wrong > 3 {
		t.Errorf("%d rounds went wrong in all", wrong)
	}
	t.Logf("%d rounds in %s, %d in %s; the attacker swapped %d entries; %s unchanged (%s)",
		rounds[open], open, rounds[sticky], sticky, swaps.Load(), target, want)
	if rounds[open] == 0 || rounds[sticky] == 0 {
		t.Errorf("rounds: %v", rounds)
	}
}

// raceRound runs corral with its socket at sock until the socket answers
// (checking it is 0660 root:65534) or corral says it is disabled, then
// stops it. It returns corral's output and whether the socket answered.
func raceRound(t *testing.T, services, sock string) (string, bool) {
	t.Helper()
	var out testutil.Buffer
	cmd := exec.Command(filepath.Join(binDir, "corral"), "--services-dir", services, "--socket", sock,
		"--socket-group", "65534", "--no-log-files")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	// Until the socket answers or corral says it is disabled, or a
	// generous deadline (the caller then says what went wrong).
	client := control.NewClient(sock)
	answered := false
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if _, err := client.Status(context.Background()); err == nil {
			answered = true
			break
		}
		if strings.Contains(out.String(), "control socket disabled") {
			break
		}
	}
	if answered {
		fi, err := os.Lstat(sock)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 || st.Uid != 0 || st.Gid != 65534 {
			t.Errorf("socket %s: %v uid %d gid %d, want socket 0660 root:65534", sock, fi.Mode(), st.Uid, st.Gid)
		}
	}
	return out.String(), answered
}

// fileState is a file's mode, owner and content.
func fileState(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fmt.Sprintf("%v %d:%d %q", fi.Mode(), st.Uid, st.Gid, b)
}
