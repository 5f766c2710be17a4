package serf

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/test/netns"
)

// TestLeaveAfterFailures: a node that leaves right after several peers
// died (a rolling update, a scale-down) is still seen to leave by the
// others, not to fail. memberlist gossips to nodes dead for less than 30 s
// and sends each message a fixed number of times: without the leave
// transport (transport.go), most of a leave's sends went to the dead and
// its peers missed it (8 leaves in 10 unseen in a run on loopback).
func TestLeaveAfterFailures(t *testing.T) {
	const doomedCount = 6
	nw := netns.New(t, subnet, doomedCount+1)
	lb := startLocal(t, Config{
		NodeName: "lb", Bind: fmt.Sprintf("%s:%d", nw.HostAddr(), rootPort), RPCAddr: "off",
	})
	// The local profile detects the dead within seconds.
	join := fmt.Sprintf("join = [%q]\nretry_interval = \"200ms\"\nprofile = \"local\"", lb.p.Bind)
	for round := range 2 {
		name := fmt.Sprintf("leaver-%d", round)
		victim := startNode(t, nw.Node(0), name, join)
		var doomed []*node
		for i := range doomedCount {
			doomed = append(doomed, startNode(t, nw.Node(i+1), fmt.Sprintf("doomed-%d-%d", round, i), join+"\nleave_on_stop = false"))
		}
		for _, d := range doomed {
			// Up to a push/pull interval (30 s): gossip about joins also
			// goes to the dead of the round before.
			victim.waitFor(t, 60*time.Second, "the join of "+d.name, func(m helperMsg) bool {
				return m.Kind == "event" && m.Type == "member-join" && slices.Contains(m.Members, d.name)
			})
			d.signal(syscall.SIGKILL)
		}
		for _, d := range doomed {
			d.exited(t)
			victim.waitFor(t, 60*time.Second, d.name+" failed", func(m helperMsg) bool {
				return m.Kind == "event" && m.Type == "member-failed" && slices.Contains(m.Members, d.name)
			})
		}
		since := time.Now()
		victim.signal(syscall.SIGTERM)
		e := lb.waitEvent(t, since, 20*time.Second, "member-leave or member-failed of "+name, func(ev plugins.MembershipEvent) bool {
			return (ev.Type == "member-leave" || ev.Type == "member-failed") && slices.Contains(memberNames(ev.Members), name)
		})
		t.Logf("round %d: %s %s after SIGTERM, %d peers dead for less than a minute", round, e.ev.Type, e.at.Sub(since).Round(time.Millisecond), doomedCount*(round+1))
		if e.ev.Type != "member-leave" {
			t.Errorf("round %d: lb saw %s fail instead of leave", round, name)
		}
		victim.exited(t)
	}
}
