package hook

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/plugins/plugintest"
	"github.com/corralhq/corral/plugins/serf"
	"github.com/corralhq/corral/test/netns"
)

// subnet is this package's test network: 10.213.74.0/24.
const subnet = 74

// The lab's two handlers: one keeps /nodes ("name addr" lines) on joins,
// the other on leaves and failures, and each then rewrites haproxy.cfg
// from /nodes. They read, wait, and write back, as scripts that call other
// tools do: two of them running at once lose an update. A run that finds
// the other running records an overlap.
const (
	labJoin = `mkdir "$DIR/lock" 2>/dev/null || echo "$SERF_EVENT" >> "$DIR/overlaps"
while read -r name addr role tags; do
	cur=$(cat "$DIR/nodes" 2>/dev/null || true)
	sleep 0.02
	{ printf '%s\n' "$cur"; echo "$name $addr"; } | grep -v '^$' | sort -u > "$DIR/nodes.new"
	mv "$DIR/nodes.new" "$DIR/nodes"
done
sleep 0.05
cp "$DIR/nodes" "$DIR/haproxy.cfg"
rmdir "$DIR/lock" 2>/dev/null || true
`
	labLeave = `mkdir "$DIR/lock" 2>/dev/null || echo "$SERF_EVENT" >> "$DIR/overlaps"
while read -r name addr role tags; do
	cur=$(cat "$DIR/nodes" 2>/dev/null || true)
	sleep 0.02
	printf '%s\n' "$cur" | grep -v -x -F "$name $addr" | grep -v '^$' > "$DIR/nodes.new" || true
	mv "$DIR/nodes.new" "$DIR/nodes"
done
sleep 0.05
cp "$DIR/nodes" "$DIR/haproxy.cfg"
rmdir "$DIR/lock" 2>/dev/null || true
`
)

// stockAgent is Debian's `serf agent` in a network namespace.
type stockAgent struct {
	nd   *netns.Node
	cmd  *exec.Cmd
	done chan struct{}
}

// startStock runs Debian's serf agent named name on nd (gossip on 7946,
// RPC on 127.0.0.1:7373 there) with extra arguments.
func startStock(t *testing.T, nd *netns.Node, name string, extra ...string) *stockAgent {
	t.Helper()
	a := &stockAgent{nd: nd, done: make(chan struct{})}
	args := append([]string{"serf", "agent", "-node=" + name, "-bind=" + nd.AddrPort(7946), "-rpc-addr=127.0.0.1:7373", "-log-level=warn"}, extra...)
	a.cmd = nd.Command(context.Background(), args...)
	out := &strings.Builder{}
	a.cmd.Stdout, a.cmd.Stderr = out, out
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("starting serf agent %s: %v", name, err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		_ = a.cmd.Process.Kill()
		<-a.done
	})
	return a
}

// TestHandlersNeverOverlap replays the lab: its two handlers as two hook
// services on one corral agent, and a stock agent that leaves and, 0 to
// 0.4 s later, joins again under the same name, 40 times. The stock agent
// runs its handlers one at a time, in event order, and the scripts rely on
// it: no run may overlap another, and /nodes (and haproxy.cfg, rewritten
// from it) must end every round equal to the alive members.
func TestHandlersNeverOverlap(t *testing.T) {
	if _, err := exec.LookPath("serf"); err != nil {
		t.Fatalf("the serf command is missing (install Debian package serf): %v", err)
	}
	const rounds = 40
	nw := netns.New(t, subnet, 2)
	dir := t.TempDir()
	t.Setenv("DIR", dir)

	sh := plugintest.NewHost("serf", testLog(t, slogWarn))
	sp := &serf.Plugin{Config: serf.Config{NodeName: "lb", Bind: nw.HostAddr() + ":17946", RPCAddr: "off"}}
	if err := sp.Provision(sh); err != nil {
		t.Fatal(err)
	}
	hookOn := func(name, script string, events ...string) {
		h := &Plugin{Config: Config{Command: plugins.Command{"/bin/sh", "-c", script}, Events: events}}
		runNamedHookOn(t, name, h, sh.Bus())
	}
	hookOn("member-join", labJoin, "member-join")
	hookOn("member-leave", labLeave, "member-leave", "member-failed")
	if err := sp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sp.Stop(context.Background())
		sh.Shutdown()
	})
	sub := sh.Bus().Subscribe(true, plugins.TopicMembership)
	defer sub.Close()
	waitEvent := func(what string, match func(plugins.MembershipEvent) bool) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case <-sub.C():
				for _, e := range sub.Drain() {
					if match(e.Payload.(plugins.MembershipEvent)) {
						return
					}
				}
			case <-deadline:
				t.Fatalf("no %s within 30s", what)
			}
		}
	}
	about := func(typ string) func(plugins.MembershipEvent) bool {
		return func(ev plugins.MembershipEvent) bool {
			return ev.Type == typ && slices.ContainsFunc(ev.Members, func(m plugins.Member) bool { return m.Name == "web" })
		}
	}
	// alive returns the alive members as /nodes lists them.
	alive := func() string {
		ev, _ := sh.Bus().Last(plugins.TopicMembership)
		var lines []string
		for _, m := range ev.Payload.(plugins.MembershipEvent).Alive {
			lines = append(lines, m.Name+" "+m.Addr)
		}
		slices.Sort(lines)
		return strings.Join(lines, "\n") + "\n"
	}
	join := "-join=" + nw.HostAddr() + ":17946"
	agents := []*stockAgent{startStock(t, nw.Node(0), "web", join)}
	waitEvent("the first join of web", about("member-join"))
	leaves := []chan error{nil}

	for round := range rounds {
		old := agents[len(agents)-1]
		// serf leave returns once the agent has left (it stays up a second
		// more, as stock agents do); the agent then exits.
		leaveDone := make(chan error, 1)
		leaves = append(leaves, leaveDone)
		go func() { leaveDone <- old.nd.Command(context.Background(), "serf", "leave").Run() }()
		waitEvent(fmt.Sprintf("round %d: the leave of web", round), about("member-leave"))
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		// The next agent runs on the other namespace, once the agent that
		// ran there two rounds ago has left and exited.
		if prev := len(agents) - 2; prev >= 0 {
			if err := <-leaves[prev+1]; err != nil {
				t.Fatalf("round %d: serf leave: %v", round, err)
			}
			select {
			case <-agents[prev].done:
			case <-time.After(20 * time.Second):
				t.Fatalf("round %d: an agent did not exit after serf leave", round)
			}
		}
		agents = append(agents, startStock(t, nw.Node((round+1)%2), "web", join))
		waitEvent(fmt.Sprintf("round %d: the join of web", round), about("member-join"))
		want := alive()
		deadline := time.Now().Add(20 * time.Second)
		for {
			nodes, _ := os.ReadFile(filepath.Join(dir, "nodes"))
			cfg, _ := os.ReadFile(filepath.Join(dir, "haproxy.cfg"))
			if string(nodes) == want && string(cfg) == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: /nodes\n%s\nhaproxy.cfg\n%s\nwant the alive members\n%s", round, nodes, cfg, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "overlaps")); err == nil {
			t.Fatalf("round %d: handlers ran at once, on: %s", round, strings.Fields(string(b)))
		}
	}
	t.Logf("%d rounds of leave then join 0-0.4 s later: no overlap, /nodes equal to the alive members after each", rounds)
}
