package hook

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/plugins/plugintest"
)

func TestSampleConfig(t *testing.T) {
	p := new(Plugin)
	if err := plugintest.DecodeService(Name, SampleConfig, p); err != nil {
		t.Fatal(err)
	}
	if err := p.Provision(plugintest.NewHost("hook", slog.Default())); err != nil {
		t.Fatal(err)
	}
	if len(p.argv) != 1 || len(p.Events) != 3 || p.Timeout != 30*time.Second {
		t.Errorf("decoded command %q events %q timeout %s", p.argv, p.Events, p.Timeout)
	}
	if _, ok := plugins.Lookup(Name); !ok {
		t.Error("hook not registered")
	}
}

func TestProvision(t *testing.T) {
	tests := []struct {
		name, toml, err string
		argv            string
	}{
		{"string", `command = "echo hi >&2"`, "", "/bin/sh|-c|echo hi >&2"},
		{"array", `command = ["logger", "-t", "serf"]`, "", "logger|-t|serf"},
		{"missing", `events = ["member-join"]`, "hook: command is required", ""},
		{"bad event", `command = "true"` + "\n" + `events = ["user:deploy"]`, `hook: unknown event "user:deploy"`, ""},
		{"negative timeout", `command = "true"` + "\n" + `timeout = "-1s"`, "hook: negative timeout", ""},
		{"array of numbers", `command = [1, 2]`, "hook: command[0]: got int64, want a string", ""},
		{"empty array", `command = []`, "hook: command is empty", ""},
		{"table", "[hook.command]\nx = 1", "hook: command: got map[string]interface {}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Plugin
			err := plugintest.DecodeService(Name, "plugin = \"hook\"\n[hook]\n"+tt.toml, &p)
			if err == nil {
				err = p.Provision(plugintest.NewHost("hook", slog.Default()))
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.argv, "|"); got != tt.argv {
				t.Errorf("argv %q, want %q", got, tt.argv)
			}
			if len(p.Events) != 5 || p.Timeout != DefaultTimeout {
				t.Errorf("defaults: events %q timeout %s", p.Events, p.Timeout)
			}
		})
	}
}

func TestEnvStdin(t *testing.T) {
	ev := plugins.MembershipEvent{
		Type: "member-join",
		Self: plugins.Member{Name: "lb", Tags: map[string]string{"role": "lb", "x-port": "80", "dc": "eu"}},
		Members: []plugins.Member{
			{Name: "web-1", Addr: "10.0.0.2", Tags: map[string]string{"role": "web", "port": "8080"}},
			{Name: "evil\tname\n", Addr: "10.0.0.3", Tags: map[string]string{"role": "a\tb"}},
			{Name: "bare", Addr: "fd00::1"},
		},
	}
	env := strings.Join(Env(ev), "\n")
	wantEnv := "SERF_EVENT=member-join\nSERF_SELF_NAME=lb\nSERF_SELF_ROLE=lb\nSERF_TAG_DC=eu\nSERF_TAG_ROLE=lb\nSERF_TAG_X_PORT=80"
	if env != wantEnv {
		t.Errorf("env:\n%s\nwant:\n%s", env, wantEnv)
	}
	stdin := string(Stdin(ev.Members))
	wantStdin := "web-1\t10.0.0.2\tweb\tport=8080,role=web\n" +
		"evil\\tname\\n\t10.0.0.3\ta\\tb\trole=a\\tb\n" +
		"bare\tfd00::1\t\t\n"
	if stdin != wantStdin {
		t.Errorf("stdin:\n%q\nwant:\n%q", stdin, wantStdin)
	}
}

// runHook provisions and starts p on a new bus and delivers bus events to
// it the way the supervisor does: one goroutine, in order.
func runHook(t *testing.T, p *Plugin) (*plugintest.Host, *plugins.Bus) {
	t.Helper()
	return runHookOn(t, p, plugins.NewBus())
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// recorder is a handler script that appends "<seq> <event> <members...>"
// to a log, and exits with the code found in the file "fail" if any.
const recorder = `set -e
n=$(cat "$DIR/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$DIR/count"
env | grep '^SERF_' | sort > "$DIR/env.$n"
cat > "$DIR/stdin.$n"
echo "$n $SERF_EVENT" >> "$DIR/log"
if [ -f "$DIR/sleep" ]; then sleep "$(cat "$DIR/sleep")"; fi
if [ -f "$DIR/fail" ]; then exit "$(cat "$DIR/fail")"; fi
`

func publish(bus *plugins.Bus, typ string, names ...string) {
	ev := plugins.MembershipEvent{Type: typ, Self: plugins.Member{Name: "lb", Tags: map[string]string{"role": "lb"}}}
	for i, n := range names {
		ev.Members = append(ev.Members, plugins.Member{Name: n, Addr: fmt.Sprintf("10.0.0.%d", i+2), Tags: map[string]string{"role": "web"}})
	}
	bus.Publish(plugins.Event{Topic: plugins.TopicMembership, Source: "serf", Payload: ev})
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

// TestRuns drives the hook with bus events: filter, order, env and stdin,
// a failing command, a command past its timeout.
func TestRuns(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DIR", dir)
	p := &Plugin{Command: []string{"/bin/sh", "-c", recorder}, Events: []string{"member-join", "member-failed"}, Timeout: 2 * time.Second}
	_, bus := runHook(t, p)

	publish(bus, "member-join", "web-1", "web-2")
	publish(bus, "member-update", "web-1") // filtered out
	publish(bus, "member-failed", "web-2")
	for i := 0; i < 5; i++ {
		publish(bus, "member-join", fmt.Sprintf("n%d", i))
	}
	waitFile(t, filepath.Join(dir, "log"), "1 member-join\n2 member-failed\n3 member-join\n4 member-join\n5 member-join\n6 member-join\n7 member-join\n")
	env, _ := os.ReadFile(filepath.Join(dir, "env.1"))
	if string(env) != "SERF_EVENT=member-join\nSERF_SELF_NAME=lb\nSERF_SELF_ROLE=lb\nSERF_TAG_ROLE=lb\n" {
		t.Errorf("env:\n%s", env)
	}
	stdin, _ := os.ReadFile(filepath.Join(dir, "stdin.1"))
	if string(stdin) != "web-1\t10.0.0.2\tweb\trole=web\nweb-2\t10.0.0.3\tweb\trole=web\n" {
		t.Errorf("stdin: %q", stdin)
	}
	waitStatus(t, p, "7 runs, 0 failed; last member-join ok in ")

	// A failing command is counted and shown; the next event still runs.
	os.WriteFile(filepath.Join(dir, "fail"), []byte("3"), 0o644)
	publish(bus, "member-join", "x")
	waitFile(t, filepath.Join(dir, "count"), "8\n")
	waitStatus(t, p, "8 runs, 1 failed; last member-join failed: exit status 3")
	os.Remove(filepath.Join(dir, "fail"))

	// A command past its timeout is killed.
	os.WriteFile(filepath.Join(dir, "sleep"), []byte("30"), 0o644)
	start := time.Now()
	publish(bus, "member-join", "y")
	waitStatus(t, p, "9 runs, 2 failed; last member-join failed: signal: killed")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("timeout took %s", took)
	}
	os.Remove(filepath.Join(dir, "sleep"))
	publish(bus, "member-join", "z")
	waitStatus(t, p, "10 runs, 2 failed; last member-join ok in ")
	m := p.Metrics()
	if m[0].Value != 8 || m[1].Value != 2 {
		t.Errorf("metrics %+v", m)
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
