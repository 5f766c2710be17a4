package control

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImpostorSocketRefused: in a directory every user can write to,
// nobody binds the control socket before corral does (issue 14, item 2).
// corral refuses to take it over, and root's supervisorctl refuses to
// believe it, saying why, without sending it anything.
func TestImpostorSocketRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test must run as root: it runs an impostor as nobody (uid 65534)")
	}
	for _, mode := range []os.FileMode{0o777 | os.ModeSticky, 0o777} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			openPath(t, dir)
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			sock := filepath.Join(dir, "control.sock")
			playRole(t, nobody, "impostor", sock)

			c := &corral{t: t, dir: filepath.Join(t.TempDir(), "services.d"), sock: sock,
				logDir: filepath.Join(t.TempDir(), "log")}
			if err := os.Mkdir(c.dir, 0o755); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, c.dir, map[string]string{"web.toml": sleepFile(1000)})
			out, answered := raceRound(t, c.dir, sock)
			wantRefusal := "already in use by a running server"
			if mode&os.ModeSticky == 0 {
				wantRefusal = dir + " is writable by others"
			}
			if answered || !strings.Contains(out, wantRefusal) {
				t.Errorf("corral over an impostor's socket (answered %v), want %q:\n%s", answered, wantRefusal, out)
			}

			for _, args := range [][]string{{"status"}, {"stop", "all"}, {"tail", "web"}} {
				r := c.ctl(args...)
				if args[0] == "status" {
					t.Logf("supervisorctl status: exit %d: %s", r.code, r.out)
				}
				if r.code != 4 || !strings.Contains(r.out, "unix://"+sock+" untrusted server") ||
					!strings.Contains(r.out, "runs as uid 65534") || !strings.Contains(r.out, "impostor") ||
					strings.Contains(r.out, "forged") {
					t.Errorf("supervisorctl %v against the impostor: exit %d\n%s%s", args, r.code, r.out, r.err)
				}
			}
			if b, err := os.ReadFile(sock + ".hits"); err == nil {
				t.Errorf("the impostor was sent requests:\n%s", b)
			}
		})
	}
}
