package serf

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins/plugintest"
)

// TestRPC runs the plugin on loopback and drives it with Debian's serf CLI:
// rpc_auth is enforced, and `serf leave` shuts the agent down, which fails
// the plugin so that its service is restarted.
func TestRPC(t *testing.T) {
	if _, err := exec.LookPath("serf"); err != nil {
		t.Fatalf("the serf CLI is missing (install Debian package serf): %v", err)
	}
	rpc := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := &Plugin{NodeName: "solo", Bind: fmt.Sprintf("127.0.0.1:%d", freePort(t)), Profile: "local", RPCAddr: rpc, RPCAuth: "s3cret"}
	h := plugintest.NewHost("serf", slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := p.Provision(h); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(context.Background()); err != nil {
			t.Errorf("stop after serf leave: %v", err)
		}
		h.Shutdown()
	})

	if out, err := exec.Command("serf", "members", "-rpc-addr="+rpc, "-rpc-auth=wrong").CombinedOutput(); err == nil {
		t.Errorf("serf members with a wrong token succeeded:\n%s", out)
	}
	out, err := exec.Command("serf", "members", "-rpc-addr="+rpc, "-rpc-auth=s3cret").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "solo") {
		t.Fatalf("serf members: %v\n%s", err, out)
	}
	if out, err := exec.Command("serf", "tags", "-rpc-addr="+rpc, "-rpc-auth=s3cret", "-set", "weight=5").CombinedOutput(); err != nil {
		t.Fatalf("serf tags: %v\n%s", err, out)
	}
	if tags := p.agent.Serf().LocalMember().Tags; tags["weight"] != "5" {
		t.Errorf("tags after serf tags -set: %v", tags)
	}

	if out, err := exec.Command("serf", "leave", "-rpc-addr="+rpc, "-rpc-auth=s3cret").CombinedOutput(); err != nil {
		t.Fatalf("serf leave: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(h.Failures()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("plugin did not fail after serf leave")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := h.Failures()[0]; !strings.Contains(err.Error(), "serf: agent shut down outside corral") {
		t.Errorf("failure %v", err)
	}
}
