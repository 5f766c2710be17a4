package hook

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/plugins/plugintest"
	"github.com/corralhq/corral/plugins/serf"
)

// slogWarn is the level of the agents' logs in tests.
const slogWarn = slog.LevelWarn

// testLog logs at level through t.
func testLog(t testing.TB, level slog.Level) *slog.Logger {
	return plugintest.Logger(t, level)
}

// recorder is a handler script that appends "<seq> <event> <name>" to a
// log, keeps its environment and stdin, and exits with the code found in
// the file "fail" if any, after sleeping for the time in "sleep" if any.
const recorder = `set -e
n=$(cat "$DIR/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$DIR/count"
env | grep '^SERF_' | sort > "$DIR/env.$n"
cat > "$DIR/stdin.$n"
echo "$n $SERF_EVENT $SERF_USER_EVENT$SERF_QUERY_NAME" >> "$DIR/log"
if [ -f "$DIR/sleep" ]; then sleep "$(cat "$DIR/sleep")"; fi
if [ -f "$DIR/fail" ]; then exit "$(cat "$DIR/fail")"; fi
`

// soloSerf runs the serf plugin alone on loopback with its RPC server, on
// a bus of its own, and returns it with the RPC address.
func soloSerf(t *testing.T, c serf.Config) (*serf.Plugin, *plugintest.Host, string) {
	t.Helper()
	if _, err := exec.LookPath("serf"); err != nil {
		t.Fatalf("the serf command is missing (install Debian package serf): %v", err)
	}
	rpc := fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t))
	if c.NodeName == "" {
		c.NodeName = "solo"
	}
	c.Bind = fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t))
	c.Profile = "local"
	c.RPCAddr = rpc
	sp := &serf.Plugin{Config: c}
	h := plugintest.NewHost("serf", testLog(t, slog.LevelWarn))
	if err := sp.Provision(h); err != nil {
		t.Fatal(err)
	}
	if err := sp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sp.Stop(context.Background())
		h.Shutdown()
	})
	return sp, h, rpc
}

// serfCLI runs Debian's serf command against the RPC address.
func serfCLI(t *testing.T, rpc string, args ...string) string {
	t.Helper()
	out, err := exec.Command("serf", append([]string{args[0], "-rpc-addr=" + rpc}, args[1:]...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("serf %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitFile waits until path holds want.
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if string(b) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %q", path, b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStatus waits until the status description starts with want.
func waitStatus(t *testing.T, p *Plugin, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasPrefix(p.Status().Description, want) {
		if time.Now().After(deadline) {
			t.Fatalf("status %q, want %q", p.Status().Description, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRuns drives a hook with a real agent: its own member-join, user
// events sent with Debian's serf CLI (filtered by name, in order), a
// failing command, a command past its timeout.
func TestRuns(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DIR", dir)
	sp, sh, rpc := soloSerf(t, serf.Config{Tags: map[string]string{"role": "lb"}})
	p := &Plugin{Config: Config{Command: []string{"/bin/sh", "-c", recorder}, Events: []string{"member-join", "user:deploy"}, Timeout: 2 * time.Second}}
	runHookOn(t, p, sh.Bus())

	waitFile(t, filepath.Join(dir, "log"), "1 member-join \n")
	env, _ := os.ReadFile(filepath.Join(dir, "env.1"))
	if string(env) != "SERF_EVENT=member-join\nSERF_SELF_NAME=solo\nSERF_SELF_ROLE=lb\nSERF_TAG_ROLE=lb\n" {
		t.Errorf("env:\n%s", env)
	}
	stdin, _ := os.ReadFile(filepath.Join(dir, "stdin.1"))
	if string(stdin) != "solo\t127.0.0.1\tlb\trole=lb\n" {
		t.Errorf("stdin: %q", stdin)
	}

	serfCLI(t, rpc, "event", "other", "x") // filtered out
	for i := range 5 {
		serfCLI(t, rpc, "event", "deploy", fmt.Sprintf("v%d", i))
	}
	waitFile(t, filepath.Join(dir, "log"), "1 member-join \n2 user deploy\n3 user deploy\n4 user deploy\n5 user deploy\n6 user deploy\n")
	for i := range 5 {
		b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("stdin.%d", i+2)))
		if string(b) != fmt.Sprintf("v%d\n", i) {
			t.Errorf("run %d stdin %q, want v%d", i+2, b, i)
		}
	}
	env, _ = os.ReadFile(filepath.Join(dir, "env.2"))
	if !strings.Contains(string(env), "SERF_EVENT=user\n") || !strings.Contains(string(env), "SERF_USER_EVENT=deploy\n") || !strings.Contains(string(env), "SERF_USER_LTIME=") {
		t.Errorf("user event env:\n%s", env)
	}
	waitStatus(t, p, "6 runs, 0 failed; last user:deploy ok in ")

	// A failing command is counted and shown; the next event still runs.
	os.WriteFile(filepath.Join(dir, "fail"), []byte("3"), 0o644)
	serfCLI(t, rpc, "event", "deploy", "bad")
	waitStatus(t, p, "7 runs, 1 failed; last user:deploy failed: exit status 3")
	os.Remove(filepath.Join(dir, "fail"))

	// A command past its timeout is killed.
	os.WriteFile(filepath.Join(dir, "sleep"), []byte("30"), 0o644)
	serfCLI(t, rpc, "event", "deploy", "slow")
	waitStatus(t, p, "8 runs, 2 failed; last user:deploy failed: signal: killed")
	os.Remove(filepath.Join(dir, "sleep"))
	serfCLI(t, rpc, "event", "deploy", "ok")
	waitStatus(t, p, "9 runs, 2 failed; last user:deploy ok in ")
	m := p.Metrics()
	if m[0].Value != 7 || m[1].Value != 2 {
		t.Errorf("metrics %+v", m)
	}
	if st := sp.Status(); st.Detail["handlers"] != 1 {
		t.Errorf("serf status detail: %+v", st.Detail)
	}
}

// TestQuery: hooks answer queries as stock handlers do: the output of the
// one whose filter takes the query is the node's response.
func TestQuery(t *testing.T) {
	sp, sh, rpc := soloSerf(t, serf.Config{NodeName: "q1"})
	runHookOn(t, &Plugin{Config: Config{Command: plugins.Command{"/bin/sh", "-c", `echo "up on $SERF_SELF_NAME: $(cat)"`}, Events: []string{"query:uptime"}}}, sh.Bus())
	// A hook for other events stays silent.
	runHookOn(t, &Plugin{Config: Config{Command: plugins.Command{"/bin/sh", "-c", "echo wrong"}, Events: []string{"member-join", "query:other"}}}, sh.Bus())
	// A second hook for the query: only the first by name answers.
	runNamedHookOn(t, "zz-second", &Plugin{Config: Config{Command: plugins.Command{"/bin/sh", "-c", "echo second answer"}, Events: []string{"query"}}}, sh.Bus())
	deadline := time.Now().Add(10 * time.Second)
	for sp.Status().Detail["handlers"] != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the hooks did not all join the agent: %+v", sp.Status().Detail)
		}
		time.Sleep(10 * time.Millisecond)
	}
	out := serfCLI(t, rpc, "query", "-timeout=2s", "uptime", "hello")
	if !strings.Contains(out, "Response from 'q1': up on q1: hello") || strings.Contains(out, "wrong") || strings.Contains(out, "second answer") {
		t.Fatalf("serf query uptime:\n%s", out)
	}
}

// runHookOn provisions and starts p on bus and delivers the bus events to
// it the way the supervisor does: one goroutine, in order.
func runHookOn(t *testing.T, p *Plugin, bus *plugins.Bus) *plugintest.Host {
	t.Helper()
	return runNamedHookOn(t, "hook", p, bus)
}

// runNamedHookOn is runHookOn for a hook service called name.
func runNamedHookOn(t *testing.T, name string, p *Plugin, bus *plugins.Bus) *plugintest.Host {
	t.Helper()
	h := plugintest.NewHost(name, testLog(t, slog.LevelInfo))
	h.SetBus(bus)
	if err := p.Provision(h); err != nil {
		t.Fatal(err)
	}
	sub := bus.Subscribe(true, p.Topics()...)
	go func() {
		for range sub.C() {
			for _, e := range sub.Drain() {
				p.HandleEvent(e)
			}
		}
	}()
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(context.Background())
		sub.Close()
		h.Shutdown()
	})
	return h
}
