package serf

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/plugins/plugintest"
	"github.com/corralhq/corral/test/netns"
)

// subnet is this package's test network index: 10.213.71.0/24.
const subnet = 71

// rootPort is the gossip port of the in-process plugin in the root
// namespace (not 7946, which other tests may hold on 0.0.0.0).
const rootPort = 17946

var (
	testKey  = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	wrongKey = base64.StdEncoding.EncodeToString([]byte("fedcba9876543210"))
)

// local is a plugin instance run in the test process, with the bus events
// it published.
type local struct {
	p    *Plugin
	h    *plugintest.Host
	sub  *plugins.Subscription
	mu   sync.Mutex
	evs  []timedEvent
	wake chan struct{}
}

type timedEvent struct {
	at time.Time
	ev plugins.MembershipEvent
}

// startLocal provisions and starts a plugin with settings c in the test
// process.
func startLocal(t testing.TB, c Config) *local {
	t.Helper()
	p := &Plugin{Config: c}
	level := slog.LevelWarn
	if os.Getenv("CORRAL_SERF_TEST_VERBOSE") != "" {
		level = slog.LevelDebug
	}
	log := plugintest.Logger(t, level)
	l := &local{p: p, h: plugintest.NewHost(p.NodeName, log), wake: make(chan struct{}, 1)}
	if err := p.Provision(l.h); err != nil {
		t.Fatalf("provision: %v", err)
	}
	l.sub = l.h.Bus().Subscribe(true, plugins.TopicMembership)
	go func() {
		for range l.sub.C() {
			now := time.Now()
			for _, e := range l.sub.Drain() {
				l.mu.Lock()
				l.evs = append(l.evs, timedEvent{now, e.Payload.(plugins.MembershipEvent)})
				l.mu.Unlock()
			}
			select {
			case l.wake <- struct{}{}:
			default:
			}
		}
	}()
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		if err := p.Stop(ctx); err != nil {
			t.Errorf("second stop: %v", err)
		}
		l.h.Shutdown()
		if errs := l.h.Failures(); len(errs) > 0 {
			t.Errorf("plugin goroutines failed: %v", errs)
		}
		l.sub.Close()
	})
	return l
}

// waitEvent waits for an event (published at or after since) that matches.
func (l *local) waitEvent(t testing.TB, since time.Time, timeout time.Duration, what string, match func(plugins.MembershipEvent) bool) timedEvent {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for _, e := range l.evs {
			if !e.at.Before(since) && match(e.ev) {
				l.mu.Unlock()
				return e
			}
		}
		l.mu.Unlock()
		select {
		case <-l.wake:
		case <-deadline.C:
			t.Fatalf("no %s within %s; status: %s", what, timeout, l.p.Status().Description)
		}
	}
}

// events returns the events seen so far.
func (l *local) events() []plugins.MembershipEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []plugins.MembershipEvent
	for _, e := range l.evs {
		out = append(out, e.ev)
	}
	return out
}

// eventAbout matches an event of type typ naming member name.
func eventAbout(typ, name string) func(plugins.MembershipEvent) bool {
	return func(ev plugins.MembershipEvent) bool {
		return ev.Type == typ && slices.Contains(memberNames(ev.Members), name)
	}
}

// aliveEq matches an event whose alive list is exactly names.
func aliveEq(names ...string) func(plugins.MembershipEvent) bool {
	want := strings.Join(names, ",")
	return func(ev plugins.MembershipEvent) bool { return strings.Join(memberNames(ev.Alive), ",") == want }
}

// nodeSettings is the TOML of a helper node in the test cluster.
func nodeSettings(extra string) string {
	return fmt.Sprintf("encrypt_key = %q\nprofile = \"lan\"\nretry_interval = \"200ms\"\nretry_max_interval = \"2s\"\n%s", testKey, extra)
}

// TestCluster runs Serf nodes in network namespaces (helper processes) and
// one plugin in the test process, and checks joining by host name with
// retries, events, graceful leave, failure, encryption, snapshots and the
// RPC server against Debian's serf CLI.
func TestCluster(t *testing.T) {
	if _, err := exec.LookPath("serf"); err != nil {
		t.Fatalf("the serf CLI is missing (install Debian package serf): %v", err)
	}
	nw := netns.New(t, subnet, 5)
	n0, n1, n2, n3, n4 := nw.Node(0), nw.Node(1), nw.Node(2), nw.Node(3), nw.Node(4)
	nw.SetHosts(t, map[string]string{"seed.cluster.test": n0.Addr})

	// Nodes started before their seed retry until it is up, by host name.
	a := startNode(t, n1, "web-a", nodeSettings(`join = ["seed.cluster.test"]`+"\n[tags]\nrole = \"web\"\nport = \"8080\""))
	b := startNode(t, n2, "web-b", nodeSettings(`join = ["seed.cluster.test:7946"]`))
	a.waitFor(t, 10*time.Second, "a failed join attempt", func(m helperMsg) bool { return m.Kind == "status" && m.Failures >= 2 })
	seed := startNode(t, n0, "seed", nodeSettings(""))
	for _, n := range []*node{a, b, seed} {
		n.waitFor(t, 20*time.Second, "3 alive", aliveIs("seed", "web-a", "web-b"))
	}

	// The in-process plugin joins the seed from the root namespace.
	rpcPort := plugintest.FreePort(t)
	lb := startLocal(t, Config{
		NodeName:      "lb",
		Bind:          fmt.Sprintf("%s:%d", nw.HostAddr(), rootPort),
		Join:          []string{n0.AddrPort(7946)},
		EncryptKey:    testKey,
		RetryInterval: 200 * time.Millisecond,
		RPCAddr:       fmt.Sprintf("127.0.0.1:%d", rpcPort),
		Tags:          map[string]string{"role": "lb"},
	})
	ev := lb.waitEvent(t, time.Time{}, 20*time.Second, "4 alive", aliveEq("lb", "seed", "web-a", "web-b")).ev
	if ev.Self.Name != "lb" || ev.Self.Tags["role"] != "lb" || ev.Self.Addr != nw.HostAddr() {
		t.Errorf("self = %+v", ev.Self)
	}
	for _, m := range ev.Alive {
		if m.Name == "web-a" && (m.Addr != n1.Addr || m.Port != 7946 || m.Tags["port"] != "8080" || m.Status != "alive") {
			t.Errorf("web-a = %+v", m)
		}
	}
	// The join call may still be returning when the events are out.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := lb.p.Status()
		if st.Description == "4 members, 4 alive, joined "+n0.AddrPort(7946) && st.Ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status = %+v", st)
		}
	}

	t.Run("serf CLI", func(t *testing.T) {
		rpc := fmt.Sprintf("-rpc-addr=127.0.0.1:%d", rpcPort)
		out, err := exec.Command("serf", "members", rpc).CombinedOutput()
		if err != nil {
			t.Fatalf("serf members: %v\n%s", err, out)
		}
		for _, name := range []string{"lb", "seed", "web-a", "web-b"} {
			if !strings.Contains(string(out), name+" ") {
				t.Errorf("serf members lacks %s:\n%s", name, out)
			}
		}
		if !strings.Contains(string(out), "role=web") {
			t.Errorf("serf members lacks tags:\n%s", out)
		}
		// A helper node's default RPC address is loopback in its namespace.
		a.waitFor(t, 10*time.Second, "lb seen by web-a", aliveIs("lb", "seed", "web-a", "web-b"))
		if out := n1.Run(t, "serf", "members", "-status=alive"); strings.Count(out, "alive") != 4 {
			t.Errorf("serf members in web-a's namespace:\n%s", out)
		}
		if out, err := exec.Command("serf", "join", rpc, n2.AddrPort(7946)).CombinedOutput(); err != nil || !strings.Contains(string(out), "1 nodes") {
			t.Errorf("serf join: %v\n%s", err, out)
		}
		// serf event goes through the plugin's agent (a user event is not
		// membership: no bus event, but the call must succeed).
		if out, err := exec.Command("serf", "event", rpc, "deploy", "v1").CombinedOutput(); err != nil {
			t.Errorf("serf event: %v\n%s", err, out)
		}
	})

	t.Run("graceful leave", func(t *testing.T) {
		since := time.Now()
		b.signal(syscall.SIGTERM)
		e := lb.waitEvent(t, since, 10*time.Second, "member-leave of web-b", eventAbout("member-leave", "web-b"))
		t.Logf("member-leave seen %s after SIGTERM", e.at.Sub(since).Round(time.Millisecond))
		if slices.Contains(memberNames(e.ev.Alive), "web-b") {
			t.Errorf("web-b still alive: %v", memberNames(e.ev.Alive))
		}
		b.exited(t)
		if code := b.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("web-b exit code %d", code)
		}
		for _, e := range lb.events() {
			if eventAbout("member-failed", "web-b")(e) {
				t.Errorf("web-b reported failed after a graceful leave")
			}
		}
	})

	t.Run("kill -9", func(t *testing.T) {
		since := time.Now()
		a.signal(syscall.SIGKILL)
		e := lb.waitEvent(t, since, 30*time.Second, "member-failed of web-a", eventAbout("member-failed", "web-a"))
		t.Logf("member-failed seen %s after SIGKILL", e.at.Sub(since).Round(time.Millisecond))
		if got := memberNames(e.ev.Alive); strings.Join(got, ",") != "lb,seed" {
			t.Errorf("alive = %v", got)
		}
		if m := lb.p.Metrics(); !hasMetric(m, "corral_serf_members", "status", "failed", 1) {
			t.Errorf("metrics: %+v", m)
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		bad := startNode(t, n3, "intruder", fmt.Sprintf("encrypt_key = %q\nretry_interval = \"200ms\"\njoin = [%q]", wrongKey, n0.Addr))
		bad.waitFor(t, 20*time.Second, "3 failed joins", func(m helperMsg) bool { return m.Kind == "status" && m.Failures >= 3 })
		for _, e := range lb.events() {
			if slices.Contains(memberNames(e.Alive), "intruder") {
				t.Fatalf("intruder joined: %+v", e)
			}
		}
		if out, _ := exec.Command("serf", "members", fmt.Sprintf("-rpc-addr=127.0.0.1:%d", rpcPort)).CombinedOutput(); strings.Contains(string(out), "intruder") {
			t.Fatalf("intruder listed:\n%s", out)
		}
	})

	t.Run("snapshot rejoin", func(t *testing.T) {
		snap := filepath.Join(t.TempDir(), "lib", "corral", "serf.snapshot") // directory made by Start
		since := time.Now()
		c := startNode(t, n4, "web-c", nodeSettings(fmt.Sprintf("join = [%q]\nsnapshot = %q", n0.Addr, snap)))
		lb.waitEvent(t, since, 20*time.Second, "member-join of web-c", eventAbout("member-join", "web-c"))
		since = time.Now()
		c.signal(syscall.SIGTERM)
		lb.waitEvent(t, since, 10*time.Second, "member-leave of web-c", eventAbout("member-leave", "web-c"))
		c.exited(t)
		// Restarted without a join list: only the snapshot knows the cluster.
		since = time.Now()
		startNode(t, n4, "web-c", nodeSettings(fmt.Sprintf("snapshot = %q", snap)))
		lb.waitEvent(t, since, 20*time.Second, "member-join of web-c after restart", eventAbout("member-join", "web-c"))
	})

	t.Run("seed restart", func(t *testing.T) {
		// The seed comes back without a snapshot or join list: it is alone,
		// and the others (lb joins the seed by address) find it again.
		since := time.Now()
		seed.signal(syscall.SIGTERM)
		lb.waitEvent(t, since, 10*time.Second, "member-leave of seed", eventAbout("member-leave", "seed"))
		seed.exited(t)
		since = time.Now()
		startNode(t, n0, "seed", nodeSettings(""))
		lb.waitEvent(t, since, 30*time.Second, "member-join of seed after restart", eventAbout("member-join", "seed"))
	})
}

// hasMetric finds a sample by name and one label.
func hasMetric(ms []plugins.Metric, name, label, value string, v float64) bool {
	for _, m := range ms {
		if m.Name == name && m.Labels[label] == value && m.Value == v {
			return true
		}
	}
	return false
}
