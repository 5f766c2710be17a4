package serf

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/plugins/plugintest"
	"github.com/corralhq/corral/test/netns"
)

// helperEnv names the settings file when the test binary runs as a Serf
// node (inside a network namespace) instead of running tests.
const helperEnv = "CORRAL_SERF_TEST_AGENT"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(helperEnv); cfg != "" {
		os.Exit(helperMain(cfg))
	}
	os.Exit(m.Run())
}

// helperMsg is one JSON line written by a helper node.
type helperMsg struct {
	Kind     string   `json:"kind"` // ready, event, status, stopped
	Type     string   `json:"type,omitempty"`
	Members  []string `json:"members,omitempty"`
	Alive    []string `json:"alive,omitempty"`
	Attempts uint64   `json:"attempts,omitempty"`
	Failures uint64   `json:"failures,omitempty"`
	// StopNanos is how long Stop took (kind "stopped").
	StopNanos int64 `json:"stop_nanos,omitempty"`
	Unix      int64 `json:"unix_nano"`
}

// decodeSettings decodes a settings file strictly into p.
func decodeSettings(path string, p *Plugin) error {
	md, err := toml.DecodeFile(path, p)
	if err != nil {
		return err
	}
	if und := md.Undecoded(); len(und) > 0 {
		return fmt.Errorf("unknown keys %v", und)
	}
	return nil
}

// memberNames lists the names of ms.
func memberNames(ms []plugins.Member) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

// helperMain runs one plugin instance as a process and reports its
// membership events as JSON lines on stdout; SIGTERM stops it gracefully.
func helperMain(cfg string) int {
	level := slog.LevelInfo
	if os.Getenv("CORRAL_SERF_TEST_VERBOSE") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var p Plugin
	if err := decodeSettings(cfg, &p); err != nil {
		log.Error("settings", "err", err)
		return 2
	}
	h := plugintest.NewHost(p.NodeName, log)
	if err := p.Provision(h); err != nil {
		log.Error("provision", "err", err)
		return 2
	}
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	emit := func(m helperMsg) {
		m.Unix = time.Now().UnixNano()
		mu.Lock()
		enc.Encode(m)
		mu.Unlock()
	}
	sub := h.Bus().Subscribe(true, plugins.TopicMembership)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if err := p.Start(context.Background()); err != nil {
		log.Error("start", "err", err)
		return 3
	}
	emit(helperMsg{Kind: "ready"})
	tick := time.NewTicker(100 * time.Millisecond)
	var lastAttempts, lastFailures uint64
	for {
		select {
		case <-sub.C():
			for _, ev := range sub.Drain() {
				me := ev.Payload.(plugins.MembershipEvent)
				emit(helperMsg{Kind: "event", Type: me.Type, Members: memberNames(me.Members), Alive: memberNames(me.Alive)})
			}
		case <-tick.C:
			p.join.mu.Lock()
			a, f := p.join.attempts, p.join.failures
			p.join.mu.Unlock()
			if a != lastAttempts || f != lastFailures {
				lastAttempts, lastFailures = a, f
				emit(helperMsg{Kind: "status", Attempts: a, Failures: f})
			}
			if errs := h.Failures(); len(errs) > 0 {
				log.Error("plugin failed", "err", errs[0])
				return 4
			}
		case <-sigs:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			stopStart := time.Now()
			err := p.Stop(ctx)
			took := time.Since(stopStart)
			cancel()
			h.Shutdown()
			emit(helperMsg{Kind: "stopped", StopNanos: took.Nanoseconds()})
			if err != nil {
				log.Error("stop", "err", err)
				return 5
			}
			return 0
		}
	}
}

// node is a helper process running the plugin in a network namespace.
type node struct {
	t    testing.TB
	name string
	nd   *netns.Node
	cmd  *exec.Cmd

	mu   sync.Mutex
	msgs []helperMsg
	wake chan struct{}
	done chan struct{}
}

// startNode writes settings (TOML, without node_name) and runs a helper in nd.
func startNode(t testing.TB, nd *netns.Node, name, settings string) *node {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serf.toml")
	body := fmt.Sprintf("node_name = %q\n%s\n", name, settings)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, name: name, nd: nd, wake: make(chan struct{}, 1), done: make(chan struct{})}
	n.cmd = nd.Command(context.Background(), os.Args[0], "-test.run=^$")
	n.cmd.Env = append(os.Environ(), helperEnv+"="+cfg)
	n.cmd.Stderr = &prefixWriter{t: t, prefix: name}
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		n.cmd.Process.Kill()
		<-n.done
	})
	go func() {
		defer close(n.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var m helperMsg
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, m)
			n.mu.Unlock()
			select {
			case n.wake <- struct{}{}:
			default:
			}
		}
		n.cmd.Wait()
	}()
	n.waitFor(t, 20*time.Second, "ready", func(m helperMsg) bool { return m.Kind == "ready" })
	return n
}

// waitFor waits until a message (old or new) matches and returns it.
func (n *node) waitFor(t testing.TB, timeout time.Duration, what string, match func(helperMsg) bool) helperMsg {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		n.mu.Lock()
		for _, m := range n.msgs {
			if match(m) {
				n.mu.Unlock()
				return m
			}
		}
		n.mu.Unlock()
		select {
		case <-n.wake:
		case <-n.done:
			t.Fatalf("%s exited while waiting for %s", n.name, what)
		case <-deadline.C:
			t.Fatalf("%s: no %s within %s", n.name, what, timeout)
		}
	}
}

// signal sends sig to the helper.
func (n *node) signal(sig syscall.Signal) {
	n.cmd.Process.Signal(sig)
}

// exited waits for the helper to exit.
func (n *node) exited(t testing.TB) {
	t.Helper()
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit", n.name)
	}
}

// prefixWriter logs a helper's stderr lines through t.
type prefixWriter struct {
	t      testing.TB
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		if os.Getenv("CORRAL_SERF_TEST_VERBOSE") != "" {
			w.t.Logf("[%s] %s", w.prefix, w.buf[:i])
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// aliveIs matches an event whose alive list is exactly names (sorted).
func aliveIs(names ...string) func(helperMsg) bool {
	want := strings.Join(names, ",")
	return func(m helperMsg) bool { return m.Kind == "event" && strings.Join(m.Alive, ",") == want }
}
