package control

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/corralhq/corral/control"
)

// The test binary plays other users' parts when CORRAL_TEST_ROLE is set:
// it runs the role (see roles) and exits, before TestMain builds anything.
func init() {
	role, ok := roles[os.Getenv("CORRAL_TEST_ROLE")]
	if !ok {
		return
	}
	role(strings.Split(os.Getenv("CORRAL_TEST_ARGS"), "\x1f"))
	os.Exit(0)
}

// roles are the parts the test binary can play, by name.
var roles = map[string]func(args []string){
	"attacker": attack,
	"impostor": impersonate,
}

// attack swaps every entry that appears in dir (args[0]) for a symbolic
// link to args[1]: the moment inotify reports it, the entry is renamed away
// (as anyone may in a directory writable by all without the sticky bit)
// and the link put in its place. It runs until killed, and prints each
// swap it made.
func attack(args []string) {
	dir, target := args[0], args[1]
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err == nil {
		_, err = unix.InotifyAddWatch(in, dir, unix.IN_CREATE|unix.IN_MOVED_TO)
	}
	if err != nil {
		fmt.Println("inotify:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	buf := make([]byte, 64<<10)
	n := 0
	for {
		k, err := unix.Read(in, buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			fmt.Println("read:", err)
			os.Exit(1)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= k; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if name == "" || strings.Contains(name, ".atk") {
				continue
			}
			p := filepath.Join(dir, name)
			if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeSymlink != 0 {
				continue // gone, or a link already (ours)
			}
			n++
			if os.Rename(p, fmt.Sprintf("%s.atk%d", p, n)) == nil && os.Symlink(target, p) == nil {
				fmt.Println("swapped", name)
			}
		}
	}
}

// impersonate binds a socket at args[0] and answers every request with a
// forged status, noting each request in args[0]+".hits", until killed.
func impersonate(args []string) {
	sock := args[0]
	ln, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	_ = os.Chmod(sock, 0o666)
	fmt.Println("ready")
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, err := os.OpenFile(sock+".hits", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o666); err == nil {
			fmt.Fprintln(f, r.Method, r.URL)
			f.Close()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(control.StatusResponse{Now: time.Now(),
			Services: []control.ServiceStatus{{Name: "forged", StateName: "RUNNING", Type: "longrun"}}})
	}))
}

// playRole runs this test binary as cred in role with args, waits until it
// says "ready", and returns its process (killed at cleanup) and the rest
// of its output.
func playRole(t *testing.T, cred *syscall.Credential, role string, args ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, "control.test")
	if _, err := os.Stat(bin); err != nil {
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"CORRAL_TEST_ROLE=" + role, "CORRAL_TEST_ARGS=" + strings.Join(args, "\x1f")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("%s as uid %d did not start: %q", role, cred.Uid, sc.Text())
	}
	return cmd, sc
}
