package control

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/corralhq/corral/control"
)

var nobody = &syscall.Credential{Uid: 65534, Gid: 65534}

// openPath lets every user traverse the directories above path.
func openPath(t *testing.T, path string) {
	t.Helper()
	for p := filepath.Dir(path); p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNonRootRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test must run as root: it runs supervisorctl as nobody (uid 65534)")
	}
	c := startCorral(t, map[string]string{"web.toml": `command = ["sleep", "1000"]` + "\n"})
	c.waitState(map[string]control.State{"web": control.Running})
	openPath(t, c.sock)
	fi, err := os.Stat(c.sock)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm() != 0o600 || st.Uid != 0 {
		t.Errorf("socket mode %v owner %d, want 0600 root", fi.Mode().Perm(), st.Uid)
	}
	// The file mode refuses nobody.
	for _, args := range [][]string{{"status"}, {"stop", "web"}, {"shutdown"}} {
		r := runCtl(t, nobody, append([]string{"-s", c.sock}, args...)...)
		if r.code == 0 || !strings.Contains(r.out, "unix://"+c.sock) || !strings.Contains(r.out, "permission denied") {
			t.Errorf("%v as nobody: exit %d, %q", args, r.code, r.out)
		}
	}
	// Even with the mode opened up, the server's peer check refuses.
	if err := os.Chmod(c.sock, 0o666); err != nil {
		t.Fatal(err)
	}
	r := runCtl(t, nobody, "-s", c.sock, "stop", "web")
	if r.code != 4 || !strings.Contains(r.out, "refused connection") || !strings.Contains(r.out, "uid 65534") {
		t.Errorf("stop web as nobody on a 0666 socket: exit %d, %q", r.code, r.out)
	}
	if r := runCtl(t, nobody, "-s", c.sock, "status"); r.code != 4 {
		t.Errorf("status as nobody on a 0666 socket: exit %d, %q", r.code, r.out)
	}
	if st := c.status()["web"]; st.State != control.Running {
		t.Errorf("web is %s after nobody's stop", st.State)
	}
	if r := c.ctl("status", "web"); r.code != 0 {
		t.Errorf("status as root: exit %d, %q", r.code, r.out)
	}
}

func TestSocketGroupAllowed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test must run as root: it runs supervisorctl as nobody (uid 65534)")
	}
	c := startCorral(t, map[string]string{"web.toml": `command = ["sleep", "1000"]` + "\n"}, "--socket-group", "65534")
	c.waitState(map[string]control.State{"web": control.Running})
	openPath(t, c.sock)
	fi, err := os.Stat(c.sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 || fi.Sys().(*syscall.Stat_t).Gid != 65534 {
		t.Errorf("socket mode %v group %d, want 0660 group 65534", fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Gid)
	}
	if r := runCtl(t, nobody, "-s", c.sock, "status", "web"); r.code != 0 || !strings.HasPrefix(r.out, "web ") {
		t.Errorf("status as a member of the socket's group: exit %d, %q", r.code, r.out)
	}
	other := &syscall.Credential{Uid: 65533, Gid: 65533}
	if r := runCtl(t, other, "-s", c.sock, "status"); r.code != 4 {
		t.Errorf("status as uid 65533 (not in the group): exit %d, %q", r.code, r.out)
	}
}
