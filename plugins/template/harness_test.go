package template

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/plugins/plugintest"
)

// newTestHost returns a plugin host named like the image's template service;
// a failed plugin goroutine fails the test at cleanup.
func newTestHost(t testing.TB) *plugintest.Host {
	h := plugintest.NewHost("haproxy-config", plugintest.Logger(t, slog.LevelDebug))
	h.SetHostname("test")
	h.SetLogDir(t.TempDir())
	t.Cleanup(func() {
		h.Shutdown()
		for _, err := range h.Failures() {
			t.Errorf("plugin goroutine failed: %v", err)
		}
	})
	return h
}

// startPlugin provisions and starts p on h, feeding it the bus like the
// supervisor does (subscribed with replay before Start).
func startPlugin(t testing.TB, h *plugintest.Host, p *Plugin) {
	t.Helper()
	if err := p.Provision(h); err != nil {
		t.Fatalf("provision: %v", err)
	}
	sub := h.Bus().Subscribe(true, p.Topics()...)
	h.Go(func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-sub.C():
				for _, ev := range sub.Drain() {
					p.HandleEvent(ev)
				}
			}
		}
	})
	if err := p.Start(h.Context()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		sub.Close()
	})
}

// cluster holds the alive list published on the bus.
type cluster struct {
	bus   *plugins.Bus
	mu    sync.Mutex
	alive map[string]plugins.Member
}

func newCluster(bus *plugins.Bus) *cluster {
	return &cluster{bus: bus, alive: map[string]plugins.Member{}}
}

func (c *cluster) publish(typ string, m plugins.Member) {
	c.mu.Lock()
	if typ == "member-leave" || typ == "member-failed" {
		delete(c.alive, m.Name)
	} else {
		m.Status = "alive"
		c.alive[m.Name] = m
	}
	alive := make([]plugins.Member, 0, len(c.alive))
	for _, a := range c.alive {
		alive = append(alive, a)
	}
	c.mu.Unlock()
	sortMembers(alive)
	c.bus.Publish(plugins.Event{Topic: plugins.TopicMembership, Source: "serf",
		Payload: plugins.MembershipEvent{Type: typ, Members: []plugins.Member{m}, Alive: alive}})
}

func (c *cluster) join(m plugins.Member)  { c.publish("member-join", m) }
func (c *cluster) leave(m plugins.Member) { c.publish("member-leave", m) }

func sortMembers(ms []plugins.Member) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].Name < ms[j-1].Name; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// webNode is a real HTTP server on a loopback address answering its name;
// a request to /slow is answered once release is closed.
type webNode struct {
	name    string
	srv     *httptest.Server
	port    int
	release chan struct{}
	once    sync.Once
}

// answerSlow lets the requests to /slow be answered.
func (n *webNode) answerSlow() { n.once.Do(func() { close(n.release) }) }

func (n *webNode) member() plugins.Member {
	host, _, _ := net.SplitHostPort(n.srv.Listener.Addr().String())
	return plugins.Member{Name: n.name, Addr: host, Port: 7946,
		Tags: map[string]string{"role": "web", "port": fmt.Sprint(n.port)}}
}

// startWebNode serves name on 127.0.0.<i>:<free port>.
func startWebNode(t testing.TB, i int, name string) *webNode {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", i))
	if err != nil {
		t.Fatalf("listening on 127.0.0.%d: %v", i, err)
	}
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, name)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	n := &webNode{name: name, srv: srv, port: ln.Addr().(*net.TCPAddr).Port, release: release}
	t.Cleanup(func() { n.answerSlow(); srv.Close() })
	return n
}

// haproxy is a real HAProxy in master-worker mode.
type haproxy struct {
	mu     sync.Mutex // pid and exited change on restart
	pid    int
	cmd    *exec.Cmd
	master string
	stats  string
	cfg    string
	port   int
	exited chan struct{}
}

// haproxyTemplate is the template the tests render; @DIR@ and @PORT@ are
// replaced per test.
const haproxyTemplate = `global
    stats socket @DIR@/stats.sock mode 600 level admin
    stats timeout 30s
    hard-stop-after 3s

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 2
    option redispatch 1

frontend fe
    bind 127.0.0.1:@PORT@
    default_backend web

backend web
    balance roundrobin
{{- range .Members }}
    server {{ .Name }} {{ .HostPort }} check inter 1s pool-max-conn -1 pool-purge-delay 5s
{{- end }}
`

// setupFiles writes the test template and an initial config (no members)
// in dir and returns the settings pointing at them.
func setupFiles(t testing.TB, dir string, port int, tmpl string) Config {
	t.Helper()
	text := strings.NewReplacer("@DIR@", dir, "@PORT@", fmt.Sprint(port)).Replace(tmpl)
	src := filepath.Join(dir, "haproxy.cfg.tmpl")
	if err := os.WriteFile(src, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := Config{
		Source:       src,
		Destination:  filepath.Join(dir, "haproxy.cfg"),
		Check:        []string{"haproxy", "-c", "-f", "{{staged}}"},
		MasterSocket: filepath.Join(dir, "master.sock"),
		StatsSocket:  filepath.Join(dir, "stats.sock"),
		Backend:      "web",
		Role:         "web",
		WaitMin:      20 * time.Millisecond,
		WaitMax:      200 * time.Millisecond,
	}
	s.applyDefaults()
	pt, err := parseTemplate(src, text, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := render(pt, &Data{Backend: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Destination, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// startHAProxy runs haproxy -W -db -S <master> -f cfg and waits for its
// frontend; it is stopped at cleanup.
func startHAProxy(t testing.TB, s Config, port int) *haproxy {
	t.Helper()
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Fatalf("haproxy not found: install the Debian package haproxy (2.6): %v", err)
	}
	h := &haproxy{master: s.MasterSocket, stats: s.StatsSocket, cfg: s.Destination, port: port, exited: make(chan struct{})}
	h.start(t)
	return h
}

func (h *haproxy) start(t testing.TB) {
	t.Helper()
	t.Cleanup(func() { h.kill(syscall.SIGTERM) })
	if err := h.run(); err != nil {
		t.Fatal(err)
	}
}

// run starts HAProxy and waits until its frontend accepts connections.
func (h *haproxy) run() error {
	h.mu.Lock()
	h.exited = make(chan struct{})
	h.mu.Unlock()
	h.cmd = exec.Command("haproxy", "-W", "-db", "-S", h.master+",mode,600", "-f", h.cfg)
	h.cmd.Stdout = io.Discard
	h.cmd.Stderr = io.Discard
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		return fmt.Errorf("starting haproxy: %w", err)
	}
	cmd, exited := h.cmd, h.exited
	h.mu.Lock()
	h.pid = cmd.Process.Pid
	h.mu.Unlock()
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", h.port), time.Second)
		if err == nil {
			c.Close()
			if _, err := os.Stat(h.master); err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("haproxy did not come up on port %d", h.port)
		}
		select {
		case <-exited:
			return fmt.Errorf("haproxy exited: %v", cmd.ProcessState)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// kill signals the process group and waits for the master to exit.
func (h *haproxy) kill(sig syscall.Signal) {
	h.mu.Lock()
	pid, exited := h.pid, h.exited
	h.mu.Unlock()
	select {
	case <-exited:
		return
	default:
	}
	syscall.Kill(-pid, sig)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
}

// masterPID returns the master's pid.
func (h *haproxy) masterPID() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pid
}

// reloads reads the master's reload counter.
func (h *haproxy) reloads(t testing.TB) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := readMaster(ctx, h.master)
	if err != nil {
		t.Fatalf("reading master counters: %v", err)
	}
	return c.reloads
}

// get sends a request through the frontend without keep-alive, so each
// request is balanced anew, and returns the answering node's name.
func (h *haproxy) get() (string, error) {
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", h.port))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return string(b), err
}

// served returns the set of names answering n requests.
func (h *haproxy) served(n int) map[string]int {
	seen := map[string]int{}
	for range n {
		if b, err := h.get(); err == nil {
			seen[b]++
		} else {
			seen["error: "+err.Error()]++
		}
	}
	return seen
}

// within polls cond until it holds (true) or the timeout passes (false).
func within(timeout time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cli sends one command to HAProxy's stats socket.
func (h *haproxy) cli(t testing.TB, cmd string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := cliCommand(ctx, h.stats, cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return out
}

// statServer is one server row of `show stat` in the web backend.
type statServer struct{ name, addr, status string }

// stat returns the web backend's servers from `show stat`, in HAProxy's
// order, every state included.
func (h *haproxy) stat(t testing.TB) []statServer {
	t.Helper()
	out := h.cli(t, "show stat")
	lines := strings.Split(strings.TrimPrefix(out, "# "), "\n")
	col := map[string]int{}
	for i, c := range strings.Split(lines[0], ",") {
		col[c] = i
	}
	var srv []statServer
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) <= col["addr"] || f[col["pxname"]] != "web" || f[col["svname"]] == "BACKEND" {
			continue
		}
		srv = append(srv, statServer{f[col["svname"]], f[col["addr"]], f[col["status"]]})
	}
	return srv
}

// statNames returns the sorted names of the web backend's servers in
// `show stat`, every state included.
func (h *haproxy) statNames(t testing.TB) string {
	t.Helper()
	var names []string
	for _, s := range h.stat(t) {
		names = append(names, s.name)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// waitServed waits until a request is answered by name.
func (h *haproxy) waitServed(t testing.TB, name string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, name+" to be served", func() bool {
		for range 4 {
			if b, err := h.get(); err == nil && b == name {
				return true
			}
		}
		return false
	})
}
