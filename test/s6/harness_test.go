// Package s6 tests corral as a drop-in replacement for s6-overlay v3 with
// real processes: corral is PID 1 of a fake container (a new PID and mount
// namespace, chrooted into a root built from the host's /usr (an overlay,
// so the host is never written to), a copy of its /etc, and the s6 trees
// under test), and, in container_test.go, of real Docker containers built
// from the project's base image. Each test names the s6-overlay behaviour
// it reproduces.
package s6

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

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/test/testutil"
)

var bins struct {
	dir, corral, testapp, supervisorctl string
}

func TestMain(m *testing.M) {
	testutil.Main(m, func() (func(), error) {
		dir, err := os.MkdirTemp("", "corral-s6-")
		if err != nil {
			return nil, err
		}
		built, err := testutil.Build(dir, "cmd/corral", "cmd/supervisorctl", "./testdata/testapp")
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		bins.dir, bins.corral, bins.supervisorctl, bins.testapp = dir, built[0], built[1], built[2]
		return func() {
			removeTestImage()
			os.RemoveAll(dir)
		}, nil
	}, testutil.Root, testutil.Command("unshare", "util-linux"), testutil.Command("nsenter", "util-linux"),
		testutil.Command("execlineb", "execline"), testutil.Command("s6-svscan", "s6"))
}

// image is a root filesystem being prepared for a fake container.
type image struct {
	t    *testing.T
	root string
}

// containerPath is the PATH of the test images (as an image's ENV PATH).
const containerPath = "/app:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// newImage makes a root with a copy of the host's /etc (plus the user abc,
// uid 911, as linuxserver's base images have), corral as /init, and
// testapp as /app/testapp with /app/nc.
func newImage(t *testing.T) *image {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"usr", "proc", "dev", "run", "tmp", "var", "root", "app", "config", ".ovl"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	for _, l := range []string{"bin", "lib", "lib64", "sbin"} {
		if t, err := os.Readlink("/" + l); err == nil {
			os.Symlink(t, filepath.Join(root, l))
		}
	}
	if out, err := exec.Command("cp", "-a", "/etc", root+"/").CombinedOutput(); err != nil {
		t.Fatalf("copying /etc: %v\n%s", err, out)
	}
	img := &image{t: t, root: root}
	img.appendFile("etc/passwd", "abc:x:911:911::/config:/bin/false\n")
	img.appendFile("etc/group", "abc:x:911:\nusers2:x:1911:abc\n")
	img.appendFile("etc/shadow", "abc:!:19000:0:99999:7:::\n")
	img.appendFile("etc/gshadow", "abc:!::\nusers2:!::abc\n")
	img.copyFile(bins.corral, "init", 0o755)
	img.copyFile(bins.testapp, "app/testapp", 0o755)
	os.MkdirAll(filepath.Join(root, "usr/local/bin"), 0o755)
	img.copyFile(bins.supervisorctl, "usr/local/bin/supervisorctl", 0o755)
	os.Symlink("testapp", filepath.Join(root, "app/nc"))
	return img
}

// write lays files out: a path ending in "/" is a directory; content
// starting with "x:" makes an executable file.
func (img *image) write(files map[string]string) *image {
	img.t.Helper()
	for p, content := range files {
		full := filepath.Join(img.root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				img.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			img.t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "x:") {
			content, mode = content[2:], 0o755
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			img.t.Fatal(err)
		}
		os.Chmod(full, mode)
	}
	return img
}

func (img *image) appendFile(p, s string) {
	f, err := os.OpenFile(filepath.Join(img.root, p), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		img.t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(s)
}

func (img *image) copyFile(src, dst string, mode os.FileMode) {
	b, err := os.ReadFile(src)
	if err != nil {
		img.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(img.root, dst), b, mode); err != nil {
		img.t.Fatal(err)
	}
}

// read returns the content of a file of the root ("" when missing).
func (img *image) read(p string) string {
	b, _ := os.ReadFile(filepath.Join(img.root, p))
	return string(b)
}

// container is corral running as PID 1 of a fake container.
type container struct {
	t       *testing.T
	img     *image
	cmd     *exec.Cmd
	stdout  *testutil.Buffer
	stderr  *testutil.Buffer
	done    chan struct{}
	exitErr error
}

// setup is the shell script that turns a new PID and mount namespace into
// the container: /usr as an overlay of the image's own /usr files over the
// host's (writes go to a tmpfs), /proc of the new PID
// namespace, the host's /dev, then chroot and exec /init.
const setup = `set -e
R=$1; shift
mount -t tmpfs tmpfs "$R/.ovl"
mkdir "$R/.ovl/u" "$R/.ovl/w"
mount -t overlay overlay -o "lowerdir=$R/usr:/usr,upperdir=$R/.ovl/u,workdir=$R/.ovl/w" "$R/usr"
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
cd "$R"
exec chroot "$R" "$@"
`

// run starts /init in the image with env (the image's ENV; PATH is
// added) and args (the CMD).
func (img *image) run(env []string, args ...string) *container {
	img.t.Helper()
	return img.runCmd(env, append([]string{"/init"}, args...)...)
}

// runCmd starts argv as PID 1 of the fake container.
func (img *image) runCmd(env []string, argv ...string) *container {
	t := img.t
	t.Helper()
	full := append([]string{"--pid", "--fork", "--mount", "--kill-child", "sh", "-c", setup, "sh", img.root}, argv...)
	cmd := exec.Command("unshare", full...)
	c := &container{t: t, img: img, cmd: cmd, stdout: &testutil.Buffer{}, stderr: &testutil.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.stdout, c.stderr
	cmd.Env = append([]string{"PATH=" + containerPath, "HOME=/root"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the container (unshare is in Debian's util-linux): %v", err)
	}
	go func() { c.exitErr = cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
		if t.Failed() {
			t.Logf("container stdout:\n%s\ncontainer stderr:\n%s", tail(c.stdout.String()), tail(c.stderr.String()))
		}
	})
	return c
}

// pid1 returns corral's pid in the host's PID namespace.
func (c *container) pid1() int {
	c.t.Helper()
	pid := c.cmd.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			child, _ := strconv.Atoi(f[0])
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", child)); strings.HasSuffix(exe, "/init") {
				return child
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatal("corral did not start in the container")
	return 0
}

// signal sends sig to corral (as docker stop sends SIGTERM to PID 1).
func (c *container) signal(sig syscall.Signal) {
	c.t.Helper()
	if err := syscall.Kill(c.pid1(), sig); err != nil {
		c.t.Fatalf("signalling corral: %v", err)
	}
}

// wait waits for the container to exit and returns its exit code.
func (c *container) wait(timeout time.Duration) int {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.t.Fatalf("the container did not exit within %s", timeout)
	}
	if c.exitErr == nil {
		return 0
	}
	if ee, ok := c.exitErr.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	c.t.Fatalf("waiting for the container: %v", c.exitErr)
	return -1
}

// exited reports whether the container has exited.
func (c *container) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// exec runs argv inside the container (as docker exec does) and returns
// its combined output and exit code.
func (c *container) exec(argv ...string) (string, int) {
	c.t.Helper()
	args := append([]string{"-t", strconv.Itoa(c.pid1()), "-m", "-p", "-r", "-w"}, argv...)
	cmd := exec.Command("nsenter", args...)
	cmd.Env = []string{"PATH=/command:" + containerPath}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("nsenter %v: %v", argv, err)
	}
	return string(out), code
}

// waitOutput waits until the container's stdout+stderr contain s.
func (c *container) waitOutput(s string, timeout time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if out := c.output(); strings.Contains(out, s) {
			return out
		}
		if c.exited() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("%q did not appear in the container's output within %s", s, timeout)
	return ""
}

// output is everything the container wrote, stdout then stderr.
func (c *container) output() string { return c.stdout.String() + c.stderr.String() }

// waitFile waits until the image's file p exists and is not empty.
func (c *container) waitFile(p string, timeout time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s := c.img.read(p); s != "" {
			return s
		}
		if c.exited() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("%s did not appear within %s", p, timeout)
	return ""
}

// status asks corral for its services over the control socket.
func (c *container) status() map[string]control.ServiceStatus {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sr, err := control.NewClient(filepath.Join(c.img.root, "run/corral/control.sock")).Status(ctx)
	if err != nil {
		c.t.Fatalf("status: %v", err)
	}
	m := map[string]control.ServiceStatus{}
	for _, st := range sr.Services {
		m[st.Name] = st
	}
	return m
}

// waitState waits until service name is in state want.
func (c *container) waitState(name string, want control.State, timeout time.Duration) control.ServiceStatus {
	c.t.Helper()
	sock := filepath.Join(c.img.root, "run/corral/control.sock")
	deadline := time.Now().Add(timeout)
	var last control.ServiceStatus
	for time.Now().Before(deadline) {
		if _, err := os.Stat(sock); err == nil {
			if st, ok := c.status()[name]; ok {
				last = st
				if st.State == want {
					return st
				}
			}
		}
		if c.exited() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("service %s: want %s, last seen %s (%s)", name, want, last.State, last.Reason)
	return last
}

// index returns where s is in out, failing when it is not there.
func index(t *testing.T, out, s string) int {
	t.Helper()
	i := strings.Index(out, s)
	if i < 0 {
		t.Fatalf("%q not in the output", s)
	}
	return i
}

// lines returns the lines of out containing s.
func lines(out, s string) []string {
	var r []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			r = append(r, l)
		}
	}
	return r
}

// tail returns the first and last 4 KiB of s, for failure logs.
func tail(s string) string {
	if len(s) > 8192 {
		return s[:4096] + "\n...\n" + s[len(s)-4096:]
	}
	return s
}
