package cluster

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/test/testutil"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/test/netns"
)

// tail returns the last lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond every 20ms until it holds or limit passes, and returns
// how long it took; it fails the test on timeout.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// cluster is one test network with its gossip key.
type cluster struct {
	t  *testing.T
	nw *netns.Network
	// key is the cluster's gossip key (base64 of 32 bytes), keyFile holds it.
	key, keyFile string
}

// newCluster creates the network with n nodes; node 0 is the balancer and
// resolves as "ha" on every node.
func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	c := &cluster{t: t, nw: netns.New(t, subnet, n), key: newKey(t)}
	c.nw.SetHosts(t, map[string]string{"ha": c.nw.Node(0).Addr})
	c.keyFile = filepath.Join(t.TempDir(), "gossip.key")
	if err := os.WriteFile(c.keyFile, []byte(c.key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// newKey returns a random gossip key, as `serf keygen` prints it.
func newKey(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// corral is one corral running as PID 1 of its own PID namespace inside a
// node's network namespace.
type corral struct {
	t    *testing.T
	name string
	node *netns.Node
	dir  string // holds services.d, log/ and control.sock
	sock string
	cmd  *exec.Cmd
	out  *testutil.Buffer
	done chan struct{}
	// started is when the process was started.
	started time.Time
}

// writeServices writes service files (name -> TOML) into dir/services.d.
func writeServices(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	sd := filepath.Join(dir, "services.d")
	if err := os.MkdirAll(sd, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(sd, name+".toml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// startCorral runs corral on dir/services.d in node's network namespace, as
// PID 1 of a new PID namespace. Cleanup kills the whole namespace.
func startCorral(t *testing.T, node *netns.Node, name, dir string) *corral {
	t.Helper()
	c := &corral{t: t, name: name, node: node, dir: dir, sock: filepath.Join(dir, "control.sock"),
		out: &testutil.Buffer{}, done: make(chan struct{})}
	c.cmd = exec.Command("ip", "netns", "exec", node.NS,
		"unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		bins.corral, "--services-dir", filepath.Join(dir, "services.d"), "--socket", c.sock,
		"--log-dir", filepath.Join(dir, "log"))
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	// Pdeathsig: should the test binary die (go test's timeout), unshare
	// dies and takes the namespace with it.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.started = time.Now()
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting corral %s: %v", name, err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			// unshare --kill-child: corral, PID 1, dies with unshare, and
			// the kernel kills the rest of its PID namespace.
			_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
			<-c.done
		}
		if t.Failed() {
			t.Logf("corral %s output (end):\n%s", name, tail(c.out.String(), 60))
		}
	})
	return c
}

// pid returns corral's pid in the root PID namespace (unshare's child).
func (c *corral) pid() int {
	c.t.Helper()
	p := c.cmd.Process.Pid
	var pid int
	waitFor(c.t, 10*time.Second, "corral "+c.name+" under unshare", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p, p))
		if f := strings.Fields(string(b)); len(f) > 0 {
			pid, _ = strconv.Atoi(f[0])
		}
		return pid > 0
	})
	return pid
}

// signal sends sig to corral (PID 1 of its namespace). SIGKILL to it makes
// the kernel kill every process of the namespace.
func (c *corral) signal(sig syscall.Signal) {
	c.t.Helper()
	if err := syscall.Kill(c.pid(), sig); err != nil {
		c.t.Fatalf("signalling corral %s: %v", c.name, err)
	}
}

// exited waits for corral (and unshare) to exit.
func (c *corral) exited(limit time.Duration) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(limit):
		c.t.Fatalf("corral %s did not exit within %s", c.name, limit)
	}
}

// ctl runs supervisorctl against corral's socket and returns its combined
// output and exit code.
func (c *corral) ctl(args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.Command(bins.supervisorctl, append([]string{"-s", c.sock}, args...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		c.t.Fatalf("supervisorctl %v: %v", args, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// svcStatus is what status --json tells about one service.
type svcStatus struct {
	Name        string         `json:"name"`
	State       string         `json:"state"`
	Ready       bool           `json:"ready"`
	Started     time.Time      `json:"started"`
	Reason      string         `json:"reason"`
	ConfigError string         `json:"config_error"`
	Detail      map[string]any `json:"detail"`
}

// status returns `supervisorctl status --json` by service name.
func (c *corral) status() map[string]svcStatus {
	c.t.Helper()
	cmd := exec.Command(bins.supervisorctl, "-s", c.sock, "status", "--json")
	out, _ := cmd.Output() // exit 3 when a service is down
	var list []svcStatus
	if err := json.Unmarshal(out, &list); err != nil {
		c.t.Fatalf("supervisorctl status --json: %v\n%s", err, out)
	}
	m := map[string]svcStatus{}
	for _, s := range list {
		m[s.Name] = s
	}
	return m
}

// detailInt reads a number from a service's status detail (-1 if absent).
func (c *corral) detailInt(service, key string) int {
	c.t.Helper()
	v, ok := c.status()[service].Detail[key].(float64)
	if !ok {
		return -1
	}
	return int(v)
}

// waitRunning waits until every service listed is RUNNING and ready.
func (c *corral) waitRunning(limit time.Duration, names ...string) {
	c.t.Helper()
	var last map[string]svcStatus
	start := time.Now()
	for {
		ok := true
		if _, err := os.Stat(c.sock); err == nil {
			last = c.status()
			for _, n := range names {
				if s := last[n]; s.State != "RUNNING" || !s.Ready {
					ok = false
				}
			}
		} else {
			ok = false
		}
		if ok {
			return
		}
		if time.Since(start) > limit {
			c.t.Fatalf("corral %s: services %v not all RUNNING and ready after %s: %+v", c.name, names, limit, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric returns the value of the first sample of name (any labels) on
// corral's /metrics, read over the control socket; -1 if absent.
func (c *corral) metric(name string) float64 {
	c.t.Helper()
	text, err := control.NewClient(c.sock).Metrics(c.t.Context())
	if err != nil {
		c.t.Fatalf("corral %s: /metrics: %v", c.name, err)
	}
	for _, l := range strings.Split(string(text), "\n") {
		if l == name || strings.HasPrefix(l, name+" ") || strings.HasPrefix(l, name+"{") {
			f := strings.Fields(l)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				c.t.Fatalf("corral %s: /metrics line %q: %v", c.name, l, err)
			}
			return v
		}
	}
	return -1
}
