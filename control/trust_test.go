package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/corralhq/corral/test/testutil"
)

// TestMain lets the test binary act, under another uid, as an impostor
// server (CONTROL_TEST_IMPOSTOR=socket path) or as a client
// (CONTROL_TEST_CLIENT=socket path): see runImpostor and runClient.
func TestMain(m *testing.M) {
	if sock := os.Getenv("CONTROL_TEST_IMPOSTOR"); sock != "" {
		runImpostor(sock)
		return
	}
	if sock := os.Getenv("CONTROL_TEST_CLIENT"); sock != "" {
		sr, err := NewClient(sock).Status(context.Background())
		switch {
		case err != nil:
			fmt.Println("error:", err)
		case len(sr.Services) > 0:
			fmt.Println("ok:", sr.Services[0].Name)
		default:
			fmt.Println("ok: no services")
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// forged is the impostor's status answer.
const forged = "forged-by-impostor"

// runImpostor binds sock, answers every request with a forged status,
// notes each request in sock+".hits" and serves until killed.
func runImpostor(sock string) {
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
		_ = json.NewEncoder(w).Encode(StatusResponse{Now: time.Now(),
			Services: []ServiceStatus{{Name: forged, StateName: "RUNNING"}}})
	}))
	os.Exit(1)
}

var nobody = &syscall.Credential{Uid: 65534, Gid: 65534}

// publicBinary copies the test binary where every user can run it.
func publicBinary(t *testing.T) string {
	t.Helper()
	testutil.Require(t, testutil.Root) // it runs processes as nobody (uid 65534)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(publicDir(t, 0o755), "control.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// publicDir is a new directory of the given mode that every user can
// reach.
func publicDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	d := t.TempDir()
	for p := filepath.Dir(d); p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(d, mode); err != nil {
		t.Fatal(err)
	}
	return d
}

// startImpostor runs an impostor server as nobody on sock.
func startImpostor(t *testing.T, bin, sock string) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{"CONTROL_TEST_IMPOSTOR=" + sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
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
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("impostor: %q", line)
	}
}

// TestImpostorRefused: a server run by another user in a directory others
// can write to (corral's socket unlinked and replaced, as issue 14 did) is
// refused before anything is sent to it, with a message saying so.
func TestImpostorRefused(t *testing.T) {
	bin := publicBinary(t)
	for _, mode := range []os.FileMode{0o777, 0o777 | os.ModeSticky} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := publicDir(t, mode)
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			sock := filepath.Join(dir, "control.sock")
			startImpostor(t, bin, sock)
			c := NewClient(sock)
			sr, err := c.Status(context.Background())
			var ce *ConnError
			var ue *UntrustedError
			if !errors.As(err, &ce) || ce.Kind != Untrusted || !errors.As(err, &ue) || ue.UID != 65534 {
				t.Fatalf("status from an impostor: %+v, %v", sr, err)
			}
			msg := err.Error()
			for _, want := range []string{"unix://" + sock + " untrusted server", "runs as uid 65534", "impostor", dir + " is writable by others"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if _, err := c.Version(context.Background()); !errors.As(err, &ue) {
				t.Errorf("version from an impostor: %v", err)
			}
			if b, err := os.ReadFile(sock + ".hits"); err == nil {
				t.Errorf("the impostor was sent requests:\n%s", b)
			}
		})
	}
}

// TestOtherUsersServerTrustedWhereOnlyItCanWrite: corral run as another
// user, whose socket is in a directory only that user can write to, is
// trusted by root; and a client trusts a server of its own user anywhere.
func TestOtherUsersServerTrustedWhereOnlyItCanWrite(t *testing.T) {
	bin := publicBinary(t)
	dir := publicDir(t, 0o755)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "control.sock")
	startImpostor(t, bin, sock)
	sr, err := NewClient(sock).Status(context.Background())
	if err != nil || len(sr.Services) != 1 || sr.Services[0].Name != forged {
		t.Errorf("status from nobody's server in nobody's directory: %+v, %v", sr, err)
	}

	shared := publicDir(t, 0o777|os.ModeSticky)
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	sock = filepath.Join(shared, "control.sock")
	startImpostor(t, bin, sock)
	cmd := exec.Command(bin)
	cmd.Env = []string{"CONTROL_TEST_CLIENT=" + sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok: "+forged {
		t.Errorf("nobody's client of nobody's server: %v, %q", err, out)
	}
}
