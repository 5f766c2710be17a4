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
// rpc_auth is enforced, `serf tags` changes the node's tags, and `serf
// leave` takes the node out for good: the plugin does not fail (its
// service is not restarted), says so in its status, is not ready, and the
// RPC server goes away as the stock agent's does when it exits.
func TestRPC(t *testing.T) {
	if _, err := exec.LookPath("serf"); err != nil {
		t.Fatalf("the serf CLI is missing (install Debian package serf): %v", err)
	}
	rpc := fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t))
	p := &Plugin{Config: Config{NodeName: "solo", Bind: fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t)), Profile: "local", RPCAddr: rpc, RPCAuth: "s3cret"}}
	h := plugintest.NewHost("serf", plugintest.Logger(t, slog.LevelWarn))
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
		if errs := h.Failures(); len(errs) > 0 {
			t.Errorf("plugin failed: %v", errs)
		}
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
	st := p.Status()
	if !strings.HasPrefix(st.Description, "left the cluster by serf leave at ") || !strings.Contains(st.Description, "supervisorctl start serf") || st.Ready {
		t.Errorf("status after serf leave: %+v", st)
	}
	select {
	case <-p.agent.ShutdownCh():
	default:
		t.Error("the agent still runs after serf leave")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command("serf", "members", "-rpc-addr="+rpc, "-rpc-auth=s3cret").CombinedOutput()
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the RPC server still answers after serf leave:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if errs := h.Failures(); len(errs) > 0 {
		t.Errorf("the plugin failed after serf leave (its service would restart it): %v", errs)
	}
}
