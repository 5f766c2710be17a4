package s6

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/test/testutil"
)

// baseImage is the project's base image (.ci/base-image.sh, `make base`).
var baseImage = envOr("CORRAL_BASE_IMAGE", "corral/debian:bookworm-slim")

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// dockerLock serialises Docker use with the other users of this machine
// (flock on /tmp/corral-docker.lock) for the rest of the test.
func dockerLock(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile("/tmp/corral-docker.lock", os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() })
}

// docker runs the docker CLI; it returns stdout, stderr and the exit code
// (-1 when docker could not run).
func docker(args ...string) (string, string, int) {
	cmd := exec.Command("docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return stdout.String(), stderr.String(), code
}

func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := docker(args...)
	if code != 0 {
		t.Fatalf("docker %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return strings.TrimSpace(out)
}

var (
	imageOnce sync.Once
	imageName string
	imageErr  error
)

// linuxserverDockerImage builds (once) the test image of
// testdata/Dockerfile.linuxserver from the base image.
func linuxserverDockerImage(t *testing.T) string {
	t.Helper()
	testutil.Require(t, testutil.Docker)
	dockerLock(t)
	imageOnce.Do(func() {
		if _, _, code := docker("image", "inspect", baseImage); code != 0 {
			root, _ := filepath.Abs("../..")
			if out, err := exec.Command("make", "-C", root, "base").CombinedOutput(); err != nil {
				imageErr = fmt.Errorf("make base: %v\n%s", err, out)
				return
			}
		}
		ctx, err := os.MkdirTemp("", "corral-s6-image-")
		if err != nil {
			imageErr = err
			return
		}
		defer os.RemoveAll(ctx)
		for _, c := range [][]string{
			{"cp", bins.corral, filepath.Join(ctx, "corral")},
			{"cp", bins.testapp, filepath.Join(ctx, "testapp")},
			{"cp", bins.supervisorctl, filepath.Join(ctx, "supervisorctl")},
			{"cp", "-a", "testdata/linuxserver", ctx + "/"},
			{"cp", "testdata/Dockerfile.linuxserver", filepath.Join(ctx, "Dockerfile")},
		} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				imageErr = fmt.Errorf("%v: %v\n%s", c, err, out)
				return
			}
		}
		imageName = "corral-test/s6-linuxserver:" + randomID()
		if _, errOut, code := docker("build", "--build-arg", "BASE="+baseImage, "-t", imageName, ctx); code != 0 {
			imageErr = fmt.Errorf("docker build: exit %d: %s", code, errOut)
		}
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return imageName
}

func randomID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// removeTestImage removes the image at the end of the package's tests.
func removeTestImage() {
	if imageName != "" {
		docker("rmi", "-f", imageName)
	}
}

// runDocker starts a detached container; it is removed when the test ends.
func runDocker(t *testing.T, args ...string) string {
	t.Helper()
	name := "corral-s6-" + randomID()
	mustDocker(t, append([]string{"run", "-d", "--name", name}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			out, errOut, _ := docker("logs", name)
			t.Logf("docker logs %s:\n%s%s", name, out, errOut)
		}
		docker("rm", "-f", name)
	})
	return name
}

// waitLogs waits until the container's logs contain s.
func waitLogs(t *testing.T, name, s string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out, errOut, _ := docker("logs", name)
		if strings.Contains(out+errOut, s) {
			return out + errOut
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%q did not appear in the logs of %s within %s", s, name, timeout)
	return ""
}

// TestDockerLinuxserver: the linuxserver.io layout in a real container from
// the base image, corral as /init: the app runs as PUID, "[ls.io-init]
// done." comes after the app's port accepts, s6-svc -r restarts it, and
// `docker stop -t 1` ends it with 0 (Docker's SIGKILL after 1 s would give
// 137).
func TestDockerLinuxserver(t *testing.T) {
	img := linuxserverDockerImage(t)
	name := runDocker(t, "-e", "PUID=1234", "-e", "PGID=1235", img)
	logs := waitLogs(t, name, "[ls.io-init] done.", 60*time.Second)
	if _, _, code := docker("exec", name, "nc", "-z", "127.0.0.1", "8080"); code != 0 {
		t.Fatal("[ls.io-init] done. is printed but the app's port does not accept")
	}
	if strings.Index(logs, "testapp: listening") > strings.Index(logs, "[ls.io-init] done.") {
		t.Errorf("done. before the app listened:\n%s", logs)
	}
	if uid := mustDocker(t, "exec", name, "cat", "/tmp/app/uid"); uid != "1234 1235" {
		t.Errorf("the app runs as %q, want PUID/PGID 1234 1235", uid)
	}
	before := mustDocker(t, "exec", name, "cat", "/tmp/app/pid")
	mustDocker(t, "exec", name, "s6-svc", "-wR", "-T", "30000", "-r", "/run/service/svc-app")
	if after := mustDocker(t, "exec", name, "cat", "/tmp/app/pid"); after == before {
		t.Errorf("s6-svc -r did not restart the app (pid %s)", after)
	}
	if st := mustDocker(t, "exec", name, "s6-svstat", "/run/service/svc-app"); !strings.HasPrefix(st, "up (pid ") || !strings.Contains(st, ", ready ") {
		t.Errorf("s6-svstat: %q", st)
	}
	mustDocker(t, "exec", name, "supervisorctl", "status", "svc-app")
	mustDocker(t, "stop", "-t", "1", name)
	if code := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", name); code != "0" {
		t.Fatalf("docker stop -t 1: exit code %s, want 0", code)
	}
}

// TestDockerExitCode: `docker run IMAGE sh -c 'exit 7'` exits 7, after the
// init chain ran.
func TestDockerExitCode(t *testing.T) {
	img := linuxserverDockerImage(t)
	cmd := exec.Command("docker", "run", "--rm", img, "sh", "-c", "echo cmd-ran; exit 7")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 7 {
		t.Fatalf("docker run: %v, want exit code 7\n%s", err, out.String())
	}
	s := out.String()
	if d, r := strings.Index(s, "[ls.io-init] done."), strings.Index(s, "cmd-ran"); d < 0 || r < 0 || d > r {
		t.Fatalf("the CMD did not run after the init chain:\n%s", s)
	}
}

// TestDockerReadOnlyRoot: with --read-only and /run a tmpfs (Docker's
// default options: noexec, which breaks s6-overlay), the links made at
// build time by `/init --install-links` serve, the scripts run from their
// source directories, and the image behaves the same (the hook sees the
// read-only root, as linuxserver's does).
func TestDockerReadOnlyRoot(t *testing.T) {
	img := linuxserverDockerImage(t)
	name := runDocker(t, "--read-only", "--tmpfs", "/run", "--tmpfs", "/tmp", "--tmpfs", "/config", "-e", "S6_READ_ONLY_ROOT=1", img)
	waitLogs(t, name, "[ls.io-init] done.", 60*time.Second)
	if got := mustDocker(t, "exec", name, "printcontenv", "LSIO_READ_ONLY_FS"); got != "1" {
		t.Errorf("LSIO_READ_ONLY_FS=%q", got)
	}
	mustDocker(t, "stop", "-t", "1", name)
	if code := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", name); code != "0" {
		t.Fatalf("exit code %s, want 0", code)
	}
}
