package hook

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins/plugintest"
	"github.com/corralhq/corral/plugins/serf"
)

// record is one run of the recorder script.
type record struct {
	event string
	env   []string
	stdin []string
}

// records reads the runs the recorder made in dir.
func records(dir string) []record {
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	var out []record
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, ev := f[0], f[1]
		env, _ := os.ReadFile(filepath.Join(dir, "env."+n))
		stdin, _ := os.ReadFile(filepath.Join(dir, "stdin."+n))
		out = append(out, record{event: ev, env: strings.Fields(string(env)), stdin: strings.Split(strings.TrimSpace(string(stdin)), "\n")})
	}
	return out
}

// findLine waits for a run of event whose stdin has a line for member, and
// returns the run and the line.
func findLine(t *testing.T, dir, event, member string) (record, string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, r := range records(dir) {
			if r.event != event {
				continue
			}
			for _, l := range r.stdin {
				if strings.HasPrefix(l, member+"\t") {
					return r, l
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s run for %s in %s: %+v", event, member, dir, records(dir))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// normLine sorts the tags field of a stdin line (Serf writes them in map
// order).
func normLine(l string) string {
	f := strings.Split(l, "\t")
	if len(f) == 4 {
		tags := strings.Split(f[3], ",")
		slices.Sort(tags)
		f[3] = strings.Join(tags, ",")
	}
	return strings.Join(f, "\t")
}

// envNames returns the variable names of env, sorted.
func envNames(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestSerfCompat runs the serf plugin with a hook in the test process and
// Debian's serf agent with the same script as its event handler, on
// loopback, and checks the hook sees what Serf's own handlers see.
func TestSerfCompat(t *testing.T) {
	serfBin, err := exec.LookPath("serf")
	if err != nil {
		t.Fatalf("the serf command is missing (install Debian package serf): %v", err)
	}
	script := filepath.Join(t.TempDir(), "handler.sh")
	if err := os.WriteFile(script, []byte(recorder), 0o755); err != nil {
		t.Fatal(err)
	}
	ourDir, debDir := t.TempDir(), t.TempDir()

	// The plugins, sharing one bus.
	log := plugintest.Logger(t, slog.LevelWarn)
	sh := plugintest.NewHost("serf", log)
	gossip := plugintest.FreePort(t)
	sp := &serf.Plugin{Config: serf.Config{NodeName: "corral", Bind: fmt.Sprintf("127.0.0.1:%d", gossip), Profile: "local", RPCAddr: "off",
		Tags: map[string]string{"role": "lb", "x-port": "80"}}}
	if err := sp.Provision(sh); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DIR", ourDir)
	hp := &Plugin{Config: Config{Command: []string{"/bin/sh", script}}}
	runHookOn(t, hp, sh.Bus())
	if err := sp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sp.Stop(context.Background())
		sh.Shutdown()
	})

	// Debian's agent joins it, with the same script as event handler.
	rpc := fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t))
	deb := exec.Command(serfBin, "agent", "-node=deb", "-bind=127.0.0.1:"+strconv.Itoa(plugintest.FreePort(t)), "-rpc-addr="+rpc,
		"-tag", "role=web", "-tag", "x-port=8080", "-join=127.0.0.1:"+strconv.Itoa(gossip),
		"-event-handler=member-join,member-leave=/bin/sh "+script)
	deb.Env = append(os.Environ(), "DIR="+debDir)
	out := &strings.Builder{}
	deb.Stdout, deb.Stderr = out, out
	if err := deb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deb.Process.Signal(syscall.SIGKILL)
		deb.Wait()
		if t.Failed() {
			t.Logf("serf agent output:\n%s", out)
		}
	})

	// Both see both join; the lines about a member agree.
	ourJoin, ourDeb := findLine(t, ourDir, "member-join", "deb")
	debJoin, debDeb := findLine(t, debDir, "member-join", "deb")
	_, ourSelf := findLine(t, ourDir, "member-join", "corral")
	_, debCorral := findLine(t, debDir, "member-join", "corral")
	if normLine(ourDeb) != normLine(debDeb) {
		t.Errorf("line for deb:\n hook: %q\n serf: %q", ourDeb, debDeb)
	}
	if normLine(ourSelf) != normLine(debCorral) {
		t.Errorf("line for corral:\n hook: %q\n serf: %q", ourSelf, debCorral)
	}
	if want := "deb\t127.0.0.1\tweb\trole=web,x-port=8080"; normLine(ourDeb) != want {
		t.Errorf("line %q, want %q", ourDeb, want)
	}
	// Same variables (same tag names on both nodes), values from each self.
	if a, b := envNames(ourJoin.env), envNames(debJoin.env); !slices.Equal(a, b) {
		t.Errorf("environment names differ:\n hook: %v\n serf: %v", a, b)
	}
	for _, kv := range []string{"SERF_EVENT=member-join", "SERF_SELF_NAME=corral", "SERF_SELF_ROLE=lb", "SERF_TAG_X_PORT=80", "SERF_TAG_ROLE=lb"} {
		if !slices.Contains(ourJoin.env, kv) {
			t.Errorf("hook env lacks %s: %v", kv, ourJoin.env)
		}
	}
	if !slices.Contains(debJoin.env, "SERF_SELF_NAME=deb") || !slices.Contains(debJoin.env, "SERF_TAG_X_PORT=8080") {
		t.Errorf("serf env: %v", debJoin.env)
	}

	// A graceful leave of Debian's agent reaches the hook.
	if b, err := exec.Command(serfBin, "leave", "-rpc-addr="+rpc).CombinedOutput(); err != nil {
		t.Fatalf("serf leave: %v\n%s", err, b)
	}
	leave, line := findLine(t, ourDir, "member-leave", "deb")
	if normLine(line) != normLine(ourDeb) || !slices.Contains(leave.env, "SERF_EVENT=member-leave") {
		t.Errorf("leave run: %+v line %q", leave, line)
	}
	if st := hp.Status(); !strings.Contains(st.Description, ", 0 failed; last member-leave ok") {
		t.Errorf("status %q", st.Description)
	}
}
