package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/corralhq/corral/test/testutil"

	"github.com/corralhq/corral/test/netns"
)

// imageTemplate is rootfs/ha's HAProxy template, the one the image renders,
// with its stats socket at admin instead of /run/haproxy/admin.sock.
func imageTemplate(t *testing.T, admin string) string {
	t.Helper()
	b, err := os.ReadFile("../../rootfs/ha/etc/corral/haproxy.cfg.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.Contains(text, "/run/haproxy/admin.sock") {
		t.Fatal("rootfs/ha's template has no stats socket at /run/haproxy/admin.sock")
	}
	return strings.ReplaceAll(text, "/run/haproxy/admin.sock", admin)
}

// balancer is corral on node 0 with haproxy, serf and template.
type balancer struct {
	*corral
	// cfg is the rendered haproxy.cfg, tmpl its template.
	cfg, tmpl string
	// admin is HAProxy's stats socket.
	admin string
	// text is the template (rootfs/ha's, with admin as its stats socket).
	text string
}

// templateText returns the balancer's haproxy.cfg template: rootfs/ha's
// own in every mode (the modes differ in how the plugin applies it).
func (b *balancer) templateText(balancerMode) string { return b.text }

// balancerMode says how the balancer's template plugin applies changes.
type balancerMode int

const (
	// runtimeMode: dynamic servers through the runtime API.
	runtimeMode balancerMode = iota
	// reloadMode: every change a reload through the master CLI.
	reloadMode
)

// String returns the mode's name in the template plugin's settings.
func (m balancerMode) String() string {
	if m == runtimeMode {
		return "runtime"
	}
	return "haproxy-master"
}

// startBalancer starts corral on node 0 the way rootfs/ha does: haproxy in
// master-worker mode after haproxy-config (the template plugin, rendering
// rootfs/ha's template) and serf (role balancer), with an initial
// haproxy.cfg rendered with no member.
func (c *cluster) startBalancer(mode balancerMode) *balancer {
	t := c.t
	t.Helper()
	dir := t.TempDir()
	b := &balancer{cfg: filepath.Join(dir, "haproxy.cfg"), tmpl: filepath.Join(dir, "haproxy.cfg.tmpl"),
		admin: filepath.Join(dir, "admin.sock")}
	b.text = imageTemplate(t, b.admin)
	text := b.templateText(mode)
	if err := os.WriteFile(b.tmpl, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.cfg, renderEmpty(t, text), 0o644); err != nil {
		t.Fatal(err)
	}
	master := filepath.Join(dir, "master.sock")
	wait := `wait_min = "50ms"
wait_max = "500ms"`
	if mode == reloadMode {
		wait = `wait_min = "200ms"
wait_max = "2s"`
	}
	writeServices(t, dir, map[string]string{
		"haproxy": fmt.Sprintf(`command = ["haproxy", "-W", "-db", "-S", "%s,mode,600", "-f", %q]
after = ["haproxy-config"]
essential = true
stop_timeout = "5s"
reload_signal = "SIGUSR2"

[ready]
tcp = "127.0.0.1:80"
timeout = "10s"
`, master, b.cfg),
		"haproxy-config": c.templateService(b, mode, master, wait, ""),
		"serf": fmt.Sprintf(`plugin = "serf"

[serf]
node_name = "ha"
bind = "0.0.0.0:7946"
encrypt_key_file = %q
snapshot = %q
profile = "lan"

[serf.tags]
role = "balancer"
`, c.keyFile, filepath.Join(dir, "lib", "serf.snapshot")),
	})
	b.corral = startCorral(t, c.nw.Node(0), "ha", dir)
	b.waitRunning(20*time.Second, "haproxy", "haproxy-config", "serf")
	return b
}

// templateService returns the haproxy-config service file; extra is added
// to its [template] table.
func (c *cluster) templateService(b *balancer, mode balancerMode, master, wait, extra string) string {
	return fmt.Sprintf(`plugin = "template"

[template]
source = %q
destination = %q
check = ["haproxy", "-c", "-f", "{{staged}}"]
%s
reload = %q
service = "haproxy"
master_socket = %q
stats_socket = %q
backend = "web"
role = "web"
port_tag = "port"
%s`, b.tmpl, b.cfg, wait, mode, master, b.admin, extra)
}

// renderEmpty renders a template the way the plugin would with no
// member: the file HAProxy starts with.
func renderEmpty(t *testing.T, text string) []byte {
	t.Helper()
	var buf bytes.Buffer
	data := map[string]any{"Members": []any{}, "Backend": "web"}
	if err := template.Must(template.New("cfg").Option("missingkey=zero").Parse(text)).Execute(&buf, data); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// config returns the rendered haproxy.cfg.
func (b *balancer) config() string {
	b.t.Helper()
	out, err := os.ReadFile(b.cfg)
	if err != nil {
		b.t.Fatal(err)
	}
	return string(out)
}

// servers returns the "server" lines of the rendered config.
func (b *balancer) servers() []string {
	var lines []string
	for _, l := range strings.Split(b.config(), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "server ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// hasServer reports whether a server at addr is in the config.
func (b *balancer) hasServer(addr string) bool {
	for _, l := range b.servers() {
		if strings.Contains(l, " "+addr+":") {
			return true
		}
	}
	return false
}

// member is one entry of `serf members -format=json`.
type member struct {
	Name   string            `json:"name"`
	Addr   string            `json:"addr"`
	Status string            `json:"status"`
	Tags   map[string]string `json:"tags"`
}

// members runs Debian's serf CLI inside the balancer's namespace against
// the embedded agent's RPC (127.0.0.1:7373 there) and returns the members
// by name.
func (b *balancer) members() map[string]member {
	b.t.Helper()
	out, err := b.node.Command(b.t.Context(), "serf", "members", "-rpc-addr=127.0.0.1:7373", "-format=json").CombinedOutput()
	if err != nil {
		b.t.Fatalf("serf members in %s: %v\n%s", b.node.NS, err, out)
	}
	var list struct {
		Members []member `json:"members"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		b.t.Fatalf("serf members -format=json: %v\n%s", err, out)
	}
	m := map[string]member{}
	for _, x := range list.Members {
		m[x.Name] = x
	}
	return m
}

// startWeb starts a web node on node: corral running webapp (port 8080,
// node name name) and the serf plugin joining "ha" with the cluster's key,
// as rootfs/webapp does.
func (c *cluster) startWeb(node *netns.Node, name string) *corral {
	t := c.t
	t.Helper()
	dir := t.TempDir()
	writeServices(t, dir, map[string]string{
		"webapp": fmt.Sprintf(`command = [%q]
essential = true
stop_timeout = "5s"

[env]
PORT = "8080"
NODE_NAME = %q
DRAIN_DELAY = "1s"
DRAIN_QUIET = "100ms"
SHUTDOWN_TIMEOUT = "3s"

[ready]
http = "http://127.0.0.1:8080/health"
timeout = "10s"
`, bins.webapp, name),
		"serf": fmt.Sprintf(`plugin = "serf"
after = ["webapp"]

[serf]
node_name = %q
bind = "0.0.0.0:7946"
join = ["ha"]
retry_interval = "250ms"
retry_max_interval = "1s"
encrypt_key_file = %q
profile = "lan"

[serf.tags]
role = "web"
port = "8080"
`, name, c.keyFile),
	})
	return startCorral(t, node, name, dir)
}

// agent is a Debian `serf agent` process.
type agent struct {
	name string
	cmd  *exec.Cmd
	out  *testutil.Buffer
	done chan struct{}
}

// startAgent runs Debian's serf agent in node's namespace, gossiping on
// port and serving RPC on 127.0.0.1:rpcPort there, with the given key,
// tags role=web and port=8080, retrying to join "ha".
func startAgent(t *testing.T, node *netns.Node, name string, port, rpcPort int, key string) *agent {
	t.Helper()
	a := &agent{name: name, out: &testutil.Buffer{}, done: make(chan struct{})}
	a.cmd = node.Command(t.Context(), "serf", "agent",
		"-node="+name, "-bind="+node.AddrPort(uint16(port)),
		fmt.Sprintf("-rpc-addr=127.0.0.1:%d", rpcPort), "-encrypt="+key,
		"-tag", "role=web", "-tag", "port=8080",
		"-retry-join=ha:7946", "-retry-interval=500ms", "-log-level=info")
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	a.cmd.Cancel = func() error { return syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL) }
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("starting serf agent %q: %v", name, err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.done
	})
	return a
}
