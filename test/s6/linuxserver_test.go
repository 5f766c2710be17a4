package s6

import (
	"fmt"
	"github.com/corralhq/corral/control"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// linuxserverImage is an image with the layout of linuxserver.io's base
// images (testdata/linuxserver: the init chain in s6-rc.d with user and
// user2 bundles but no type file for them, run scripts with a
// #!/usr/bin/with-contenv bash shebang, linuxserver's with-contenv
// wrapper, an S6_STAGE2_HOOK, an app longrun with s6-notifyoncheck and
// s6-setuidgid abc, and ci-service-check in user2).
func linuxserverImage(t *testing.T) *image {
	t.Helper()
	img := newImage(t)
	if out, err := exec.Command("cp", "-a", "testdata/linuxserver/.", img.root+"/").CombinedOutput(); err != nil {
		t.Fatalf("copying the tree: %v\n%s", err, out)
	}
	return img
}

// linuxserverEnv is the image's ENV (as linuxserver's Dockerfiles set it)
// with the run's -e PUID/PGID, and the app's port.
func linuxserverEnv(port int) []string {
	return []string{
		"TERM=xterm", "S6_CMD_WAIT_FOR_SERVICES_MAXTIME=0", "S6_VERBOSITY=1", "S6_STAGE2_HOOK=/docker-mods",
		"PUID=1234", "PGID=1235", fmt.Sprintf("APP_PORT=%d", port),
	}
}

// freePort returns a TCP port nothing listens on (the fake container
// shares the host's network).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestLinuxserverLayout reproduces what a linuxserver.io image does under
// s6-overlay: the hook runs first and writes to the container environment;
// init-adduser gives abc the uid and gid of PUID and PGID; the app runs as
// abc (s6-setuidgid looks abc up when it runs, after init-adduser changed
// it) with the container environment as with-contenv reads it then;
// "[ls.io-init] done." is printed only once the app's port accepts
// connections (s6-notifyoncheck readiness, legacy-services after the whole
// user bundle); s6-svstat shows it up and ready; s6-svc -r restarts it;
// docker stop (SIGTERM, then SIGKILL after 1 s) ends the container with 0.
func TestLinuxserverLayout(t *testing.T) {
	port := freePort(t)
	img := linuxserverImage(t)
	c := img.run(linuxserverEnv(port))
	out := c.waitOutput("[ls.io-init] done.", 30*time.Second)
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("[ls.io-init] done. is printed but the app's port does not accept: %v", err)
	}
	conn.Close()

	// Order: hook, init chain, app listening, done.
	hook := index(t, out, "[mod-init] hook ran")
	mig := index(t, out, "[migrations] started")
	uid := index(t, out, "User UID:    1234")
	listen := index(t, out, "testapp: listening")
	done := index(t, out, "[ls.io-init] done.")
	if !(hook < mig && mig < uid && uid < listen && listen < done) {
		t.Errorf("order: hook %d, migrations %d, adduser %d, app listening %d, done %d", hook, mig, uid, listen, done)
	}
	if got := strings.TrimSpace(img.read("tmp/app/uid")); got != "1234 1235" {
		t.Errorf("the app runs as %q, want PUID/PGID 1234 1235", got)
	}
	env := img.read("tmp/app/env")
	for _, want := range []string{"HOOKED=1", "PUID=1234", "APP_PORT="} {
		if !strings.Contains(env, want+"") {
			t.Errorf("the app's environment lacks %s (with-contenv must read the container environment as the hook left it):\n%s", want, env)
		}
	}
	if cwd := strings.TrimSpace(img.read("tmp/app/cwd")); cwd != "/run/s6-rc/servicedirs/svc-app" {
		t.Errorf("the app runs in %s, want its live directory /run/s6-rc/servicedirs/svc-app (linuxserver's UMASK logic looks for /servicedirs/svc-)", cwd)
	}
	if strings.Contains(out, "level=INFO") || strings.Contains(out, "[svc-app]") {
		t.Errorf("S6_VERBOSITY=1 and S6_LOGGING=0: no info lines and no [name] prefix expected")
	}

	st, code := c.exec("s6-svstat", "/run/service/svc-app")
	if code != 0 || !regexp.MustCompile(`^up \(pid \d+ pgid \d+\) \d+ seconds, ready \d+ seconds\n$`).MatchString(st) {
		t.Errorf("s6-svstat: %q (exit %d), want s6's \"up (pid N pgid N) N seconds, ready N seconds\"", st, code)
	}

	pidBefore := img.read("tmp/app/pid")
	if o, code := c.exec("s6-svc", "-wR", "-T", "20000", "-r", "/run/service/svc-app"); code != 0 {
		t.Fatalf("s6-svc -r: exit %d: %s", code, o)
	}
	if after := img.read("tmp/app/pid"); after == pidBefore {
		t.Errorf("s6-svc -r did not restart the app (pid %s)", strings.TrimSpace(after))
	}
	if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Errorf("after s6-svc -wR -r, the app is ready but its port does not accept: %v", err)
	} else {
		conn.Close()
	}

	c.signal(syscall.SIGTERM)
	kill := time.AfterFunc(time.Second, func() { _ = syscall.Kill(c.pid1(), syscall.SIGKILL) })
	defer kill.Stop()
	if code := c.wait(10 * time.Second); code != 0 {
		t.Fatalf("docker stop -t 1: exit code %d, want 0 (137 means it took more than 1 s)", code)
	}
}

// TestLinuxserverCommand: `docker run IMAGE sh -c 'exit 7'` runs the CMD
// after the whole init chain (user2 included) and exits with its code.
func TestLinuxserverCommand(t *testing.T) {
	img := linuxserverImage(t)
	c := img.run(linuxserverEnv(freePort(t)), "sh", "-c", "echo cmd-ran; exit 7")
	if code := c.wait(30 * time.Second); code != 7 {
		t.Fatalf("exit code %d, want the CMD's 7", code)
	}
	out := c.output()
	if index(t, out, "[ls.io-init] done.") > index(t, out, "cmd-ran") {
		t.Fatal("the CMD ran before the init chain was done")
	}
}

// TestLinuxserverFailingInit: a failing init script keeps what depends on
// it down ("[ls.io-init] done." never comes) and, with
// S6_BEHAVIOUR_IF_STAGE2_FAILS=0, the container keeps running.
func TestLinuxserverFailingInit(t *testing.T) {
	img := linuxserverImage(t)
	img.write(map[string]string{
		"etc/s6-overlay/s6-rc.d/init-migrations/run": "x:#!/usr/bin/with-contenv bash\necho \"[migrations] failing\"\nexit 3\n",
	})
	c := img.run(linuxserverEnv(freePort(t)))
	c.waitOutput("[migrations] failing", 20*time.Second)
	st := c.waitState("svc-app", control.Fatal, 20*time.Second)
	if !strings.Contains(st.Reason, "init-migrations") && !strings.Contains(st.Reason, "init-") {
		t.Logf("svc-app reason: %s", st.Reason)
	}
	if strings.Contains(c.output(), "[ls.io-init] done.") {
		t.Fatal("[ls.io-init] done. printed although init-migrations failed")
	}
	if c.exited() {
		t.Fatal("the container stopped: with S6_BEHAVIOUR_IF_STAGE2_FAILS=0 it keeps running")
	}
	c.signal(syscall.SIGTERM)
	if code := c.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
