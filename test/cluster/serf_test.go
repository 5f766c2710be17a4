package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/test/netns"
	"github.com/corralhq/corral/test/testutil"
)

// webNode is a web node whose serf plugin keeps its keyring in a file, with
// two hook services: user:deploy events appended to deploys, and an answer
// to query:uptime.
type webNode struct {
	*corral
	// deploys is the file the deploy hook writes.
	deploys string
}

// startWebNode starts (or, with the same dir, restarts) a web node as
// rootfs/webapp runs it, plus keyring_file and the hooks. keyFile is the
// gossip key it starts with.
func (c *cluster) startWebNode(node *netns.Node, name, dir, keyFile string) *webNode {
	t := c.t
	t.Helper()
	deploys := filepath.Join(dir, "deploys")
	writeServices(t, dir, map[string]string{
		"webapp": fmt.Sprintf(`command = [%q]
essential = true
stop_timeout = "5s"

[env]
PORT = "8080"
NODE_NAME = %q
DRAIN_DELAY = "300ms"
SHUTDOWN_TIMEOUT = "3s"

[ready]
http = "http://127.0.0.1:8080/health"
timeout = "10s"
`, bins.webapp, name),
		"serf": fmt.Sprintf(`plugin = "serf"
after = ["webapp"]

[serf]
node_name = %q
join = ["${SERF_JOIN:-ha}"]
retry_interval = "250ms"
retry_max_interval = "1s"
encrypt_key_file = %q
keyring_file = %q

[serf.tags]
role = "${SERF_ROLE:-web}"
port = "8080"
`, name, keyFile, filepath.Join(dir, "lib", "serf.keyring")),
		"deploy": fmt.Sprintf(`plugin = "hook"

[hook]
command = 'echo "$SERF_USER_EVENT $(cat) on $SERF_SELF_NAME" >> %s'
events = ["user:deploy"]
`, deploys),
		"uptime": `plugin = "hook"

[hook]
command = 'echo "up $SERF_SELF_NAME"'
events = ["query:uptime"]
`,
	})
	return &webNode{corral: startCorral(t, node, name, dir), deploys: deploys}
}

// stockAgent runs Debian's serf agent in node's namespace on port 7946 (RPC
// on 127.0.0.1:7373 there), with its keyring in a file holding key, the
// stock query handler "uptime", role=stock (HAProxy leaves it alone) and
// retrying to join "ha".
func stockAgent(t *testing.T, node *netns.Node, name, key string) {
	t.Helper()
	keyring := filepath.Join(t.TempDir(), "keyring")
	if err := os.WriteFile(keyring, []byte(`["`+key+`"]`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &testutil.Buffer{}
	cmd := node.Command(t.Context(), "serf", "agent", "-node="+name, "-bind="+node.AddrPort(7946),
		"-rpc-addr=127.0.0.1:7373", "-keyring-file="+keyring, "-tag", "role=stock",
		"-event-handler", `query:uptime=echo "stock up"`,
		"-retry-join=ha:7946", "-retry-interval=500ms", "-log-level=info")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting serf agent %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("serf agent %s output (end):\n%s", name, tail(out.String(), 30))
		}
	})
}

// serfIn runs Debian's serf CLI in node's namespace against the agent
// there (127.0.0.1:7373) and returns its output; it fails the test on error.
func serfIn(t *testing.T, node *netns.Node, args ...string) string {
	t.Helper()
	out, err := node.Command(t.Context(), append([]string{"serf"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("serf %s in %s: %v\n%s", strings.Join(args, " "), node.NS, err, out)
	}
	return string(out)
}

// servedAll waits until every node in names answers through front.
func servedAll(t *testing.T, front string, limit time.Duration, names ...string) time.Duration {
	t.Helper()
	seen := map[string]bool{}
	return waitFor(t, limit, fmt.Sprintf("%v served through HAProxy", names), func() bool {
		if node, err := get(front); err == nil {
			seen[node] = true
		}
		for _, n := range names {
			if !seen[n] {
				return false
			}
		}
		return true
	})
}

// TestSerfFidelity checks what Serf users rely on, on the full stack: two
// web nodes (corral, keyring file, hook services), a stock Debian agent,
// the balancer. Queries and reachability through corral's RPC answered by
// stock and corral nodes; a stock agent's user event runs a corral hook; a
// second agent on the balancer's IP does not hide a restarted balancer;
// rotated keys survive a restart (and a node with only the old key says it
// cannot decrypt); `serf leave` keeps a node out.
func TestSerfFidelity(t *testing.T) {
	c := newCluster(t, 6)
	ha, n1, n2, n3, n4 := c.nw.Node(0), c.nw.Node(1), c.nw.Node(2), c.nw.Node(3), c.nw.Node(4)
	front := "http://" + ha.AddrPort(80) + "/"
	lb := c.startBalancer(runtimeMode)
	dir1, dir2 := t.TempDir(), t.TempDir()
	web1 := c.startWebNode(n1, "web1", dir1, c.keyFile)
	web2 := c.startWebNode(n2, "web2", dir2, c.keyFile)
	stockAgent(t, n3, "stock1", c.key)
	servedAll(t, front, 30*time.Second, "web1", "web2")
	waitFor(t, 20*time.Second, "stock1 alive at the balancer", func() bool { return lb.members()["stock1"].Status == "alive" })
	web1.waitRunning(10*time.Second, "serf", "deploy", "uptime")

	t.Run("queries through corral's RPC", func(t *testing.T) {
		out := serfIn(t, ha, "query", "-timeout=3s", "uptime")
		for _, want := range []string{"Response from 'web1': up web1", "Response from 'web2': up web2", "Response from 'stock1': stock up", "Ack from 'stock1'", "Ack from 'ha'"} {
			if !strings.Contains(out, want) {
				t.Errorf("serf query uptime lacks %q:\n%s", want, out)
			}
		}
		out = serfIn(t, ha, "query", "-timeout=2s", "-node=web1", "uptime")
		if !strings.Contains(out, "Response from 'web1': up web1") || strings.Contains(out, "stock1") || strings.Contains(out, "web2") {
			t.Errorf("serf query -node=web1 uptime:\n%s", out)
		}
		out = serfIn(t, ha, "query", "-timeout=2s", "-tag", "role=stock", "uptime")
		if !strings.Contains(out, "Response from 'stock1': stock up") || strings.Contains(out, "web1") || strings.Contains(out, "web2") {
			t.Errorf("serf query -tag role=stock uptime:\n%s", out)
		}
		out = serfIn(t, ha, "reachability")
		if !strings.Contains(out, "Successfully contacted all live nodes") {
			t.Errorf("serf reachability:\n%s", out)
		}
		// And the other way: a stock agent's query answered by corral.
		out = serfIn(t, n3, "query", "-timeout=2s", "-node=web2", "uptime")
		if !strings.Contains(out, "Response from 'web2': up web2") {
			t.Errorf("serf query from the stock agent:\n%s", out)
		}
	})

	t.Run("user:deploy from a stock agent reaches a hook", func(t *testing.T) {
		serfIn(t, n3, "event", "deploy", "v7")
		waitFor(t, 15*time.Second, "the deploy hooks of web1 and web2", func() bool {
			b1, _ := os.ReadFile(web1.deploys)
			b2, _ := os.ReadFile(filepath.Join(dir2, "deploys"))
			return string(b1) == "deploy v7 on web1\n" && string(b2) == "deploy v7 on web2\n"
		})
	})

	t.Run("a second agent on the balancer's IP does not hide its restart", func(t *testing.T) {
		out := &testutil.Buffer{}
		side := ha.Command(t.Context(), "serf", "agent", "-node=ha-sidecar", "-bind="+ha.AddrPort(7947),
			"-rpc-addr=127.0.0.1:7374", "-encrypt="+c.key, "-join="+n1.AddrPort(7946), "-tag", "role=sidecar")
		side.Stdout, side.Stderr = out, out
		side.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := side.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			// It leaves, so that the key rotation below asks only live nodes.
			_, _ = ha.Command(t.Context(), "serf", "leave", "-rpc-addr=127.0.0.1:7374").CombinedOutput()
			_ = side.Process.Kill()
			_ = side.Wait()
			waitFor(t, 10*time.Second, "ha-sidecar gone from the balancer", func() bool { return lb.members()["ha-sidecar"].Status != "alive" })
		}()
		waitFor(t, 20*time.Second, "ha-sidecar alive at the balancer", func() bool { return lb.members()["ha-sidecar"].Status == "alive" })
		// The balancer comes back as a new container would: no snapshot,
		// no join list, HAProxy's file with no server. Only the web
		// nodes' rejoin brings them back.
		lb.signal(syscall.SIGTERM)
		lb.exited(20 * time.Second)
		if err := os.Remove(filepath.Join(lb.dir, "lib", "serf.snapshot")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lb.cfg, renderEmpty(t, lb.templateText(runtimeMode)), 0o644); err != nil {
			t.Fatal(err)
		}
		restarted := time.Now()
		lb.corral = startCorral(c.t, ha, "ha", lb.dir) // lives beyond this subtest
		lb.waitRunning(20*time.Second, "haproxy", "haproxy-config", "serf")
		waitFor(t, 20*time.Second, "web1 and web2 alive at the restarted balancer", func() bool {
			m := lb.members()
			return m["web1"].Status == "alive" && m["web2"].Status == "alive"
		})
		rejoined := time.Since(restarted)
		servedAll(t, front, 20*time.Second, "web1", "web2")
		t.Logf("balancer restarted beside an agent on its IP: web1 and web2 members again %s after the restart, served %s after it",
			rejoined.Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))
	})

	t.Run("rotated keys survive a restart", func(t *testing.T) {
		newKeyB64 := newKey(t)
		for _, args := range [][]string{{"-install", newKeyB64}, {"-use", newKeyB64}, {"-remove", c.key}} {
			out := serfIn(t, ha, append([]string{"keys"}, args...)...)
			t.Logf("serf keys %s: %s", args[0], strings.Join(strings.Fields(out), " "))
			if !strings.Contains(out, "Successfully") {
				t.Fatalf("serf keys %s:\n%s", args[0], out)
			}
		}
		out := serfIn(t, ha, "keys", "-list")
		if strings.Contains(out, c.key) || !strings.Contains(out, newKeyB64) {
			t.Fatalf("serf keys -list after the rotation:\n%s", out)
		}
		kr, err := os.ReadFile(filepath.Join(dir1, "lib", "serf.keyring"))
		var keys []string
		if err != nil || json.Unmarshal(kr, &keys) != nil || len(keys) != 1 || keys[0] != newKeyB64 {
			t.Fatalf("web1's keyring file after the rotation: %v %s", err, kr)
		}
		// web1 restarts with its key file still holding the old key: its
		// keyring file wins.
		web1.signal(syscall.SIGTERM)
		web1.exited(20 * time.Second)
		restarted := time.Now()
		web1 = c.startWebNode(n1, "web1", dir1, c.keyFile)
		web1.waitRunning(20*time.Second, "serf")
		servedAll(t, front, 20*time.Second, "web1")
		t.Logf("web1 restarted after the rotation: served again %s later", time.Since(restarted).Round(time.Millisecond))
		if st := lb.members()["web1"].Status; st != "alive" {
			t.Errorf("web1 at the balancer: %s", st)
		}
		// A node that has only the old key says so, and is not ready.
		web3 := c.startWebNode(n4, "web3", t.TempDir(), c.keyFile)
		var status string
		waitFor(t, 30*time.Second, "web3's serf reporting it cannot decrypt", func() bool {
			status, _ = web3.ctl("status", "serf")
			return strings.Contains(status, "cannot decrypt gossip")
		})
		t.Logf("a node with the rotated-out key: %s", strings.TrimSpace(status))
		if s := web3.status()["serf"]; s.Ready {
			t.Errorf("web3's serf is ready without a usable key: %+v", s)
		}
		if st, ok := lb.members()["web3"]; ok && st.Status == "alive" {
			t.Errorf("web3 joined with the old key: %+v", st)
		}
	})

	t.Run("serf leave keeps a node out", func(t *testing.T) {
		serfIn(t, n2, "leave")
		waitFor(t, 10*time.Second, "web2 left at the balancer", func() bool { return lb.members()["web2"].Status == "left" })
		// Long enough for a restarted plugin to rejoin (it took 3 s).
		time.Sleep(5 * time.Second)
		if st := lb.members()["web2"].Status; st != "left" {
			t.Errorf("web2 is %s at the balancer 5 s after serf leave", st)
		}
		out, _ := web2.ctl("status", "serf")
		if !hasStatusLine(out, "serf", "EXITED") || !strings.Contains(out, "left the cluster by serf leave") {
			t.Errorf("web2's serf after serf leave:\n%s", out)
		}
		if r := restarts(t, web2.corral, "serf"); r != 0 {
			t.Errorf("web2's serf restarted %d times", r)
		}
		for range 20 {
			if node, err := get(front); err == nil && node == "web2" {
				t.Fatalf("web2 still served after serf leave")
			}
		}
	})
}

// restarts returns a service's restart count from status --json.
func restarts(t *testing.T, c *corral, service string) int {
	t.Helper()
	out, _ := exec.Command(bins.supervisorctl, "-s", c.sock, "status", "--json", service).Output()
	var list []struct {
		Restarts int `json:"restarts"`
	}
	if err := json.Unmarshal(out, &list); err != nil || len(list) != 1 {
		t.Fatalf("supervisorctl status --json %s: %v\n%s", service, err, out)
	}
	return list[0].Restarts
}
