package serf

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins/plugintest"
)

// syncBuffer is a bytes.Buffer safe for a command writing and a test
// reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRPCCommands drives the RPC server with the rest of Debian's serf CLI:
// filtered members, info, keys, rtt, query, monitor (logs and events) and
// force-leave.
func TestRPCCommands(t *testing.T) {
	if _, err := exec.LookPath("serf"); err != nil {
		t.Fatalf("the serf CLI is missing (install Debian package serf): %v", err)
	}
	rpc := "-rpc-addr=" + fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t))
	serfCLI := func(args ...string) (string, error) {
		// Flags must come before the arguments (Go's flag package).
		out, err := exec.Command("serf", append([]string{args[0], rpc}, args[1:]...)...).CombinedOutput()
		return string(out), err
	}
	one := startLocal(t, Config{NodeName: "one", Bind: fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t)), Profile: "local",
		EncryptKey: testKey, RPCAddr: strings.TrimPrefix(rpc, "-rpc-addr="), Tags: map[string]string{"role": "lb"}})
	no := false
	twoBind := fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t))
	two := startLocal(t, Config{NodeName: "two", Bind: twoBind, Profile: "local", EncryptKey: testKey, RPCAddr: rpcOff,
		Join: []string{one.p.Bind}, LeaveOnStop: &no, Tags: map[string]string{"role": "web"}})
	one.waitEvent(t, time.Time{}, 10*time.Second, "two joining", aliveEq("one", "two"))

	// monitor streams logs and events while the other commands run.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mon := exec.CommandContext(ctx, "serf", "monitor", "-log-level=debug", rpc)
	var monOut syncBuffer
	mon.Stdout, mon.Stderr = &monOut, &monOut
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = mon.Wait() }()

	if out, err := serfCLI("members", "-tag", "role=web"); err != nil || !strings.Contains(out, "two") || strings.Contains(out, "one") {
		t.Errorf("serf members -tag role=web: %v\n%s", err, out)
	}
	if out, err := serfCLI("members", "-name", "o.*", "-status", "alive"); err != nil || !strings.Contains(out, "one") || strings.Contains(out, "two") {
		t.Errorf("serf members -name o.* -status alive: %v\n%s", err, out)
	}
	if out, err := serfCLI("members", "-name", "("); err == nil {
		t.Errorf("serf members with a bad regexp succeeded:\n%s", out)
	}
	if out, err := serfCLI("info"); err != nil || !strings.Contains(out, "name = one") || !strings.Contains(out, "members = 2") {
		t.Errorf("serf info: %v\n%s", err, out)
	}
	if out, err := serfCLI("keys", "-list"); err != nil || !strings.Contains(out, testKey) || !strings.Contains(out, "[2/2]") {
		t.Errorf("serf keys -list: %v\n%s", err, out)
	}
	// rtt needs both coordinates, known after a few probes.
	for deadline := time.Now().Add(15 * time.Second); ; {
		out, err := serfCLI("rtt", "one", "two")
		if err == nil && strings.Contains(out, "Estimated one <-> two rtt") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("serf rtt one two: %v\n%s", err, out)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Queries: acks from both nodes (no handler answers here; see
	// query_test.go and the hook plugin for responses).
	if out, err := serfCLI("query", "-timeout=1s", "ping"); err != nil || !strings.Contains(out, "Ack from 'one'") || !strings.Contains(out, "Ack from 'two'") || !strings.Contains(out, "Total Acks: 2") {
		t.Errorf("serf query ping: %v\n%s", err, out)
	}
	if out, err := serfCLI("query", "_serf_x"); err == nil || !strings.Contains(out, "Queries cannot contain the '_serf_' prefix") {
		t.Errorf("serf query of an internal name: %v\n%s", err, out)
	}
	if out, err := serfCLI("event", "deploy", "v42"); err != nil {
		t.Errorf("serf event: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(monOut.String(), "deploy") || !strings.Contains(monOut.String(), "[DEBUG]") {
		if time.Now().After(deadline) {
			t.Fatalf("serf monitor showed no user event and debug log:\n%s", monOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// two stops without leaving: failed on one, then force-left.
	if err := two.p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	one.waitEvent(t, time.Time{}, 30*time.Second, "two failing", eventAbout("member-failed", "two"))
	if out, err := serfCLI("force-leave", "two"); err != nil {
		t.Fatalf("serf force-leave: %v\n%s", err, out)
	}
	one.waitEvent(t, since, 10*time.Second, "two force-left", eventAbout("member-leave", "two"))
	if out, err := serfCLI("members", "-status", "left"); err != nil || !strings.Contains(out, "two") {
		t.Errorf("serf members -status left after force-leave: %v\n%s", err, out)
	}
	if !strings.Contains(monOut.String(), "member-failed") {
		t.Errorf("serf monitor showed no member-failed event:\n%s", monOut.String())
	}
}
