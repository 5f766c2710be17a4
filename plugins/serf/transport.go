package serf

import (
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// leaveTransport is memberlist's UDP/TCP transport with one change, made
// while this node leaves the cluster: a packet addressed to a node that is
// not alive goes to an alive node instead.
//
// Why: memberlist keeps gossiping to nodes that died in the last 30 s (so
// that a node declared dead by mistake hears it and refutes), and it sends
// each broadcast a fixed number of times (4 in clusters under 10 nodes) to
// random targets, dead ones included. A node leaving right after others
// left (a rolling update, a scale-down) could spend every send of its
// leave intent, or of its own "dead" message, on nodes that are gone: its
// peers then saw it fail (member-failed) or leave only after failure
// detection, seconds later (TestLeaveAfterFailures). Only gossip goes to
// the dead, and gossip packets carry no addressee (any member holding the
// key reads them), so redirecting them is safe; probes of suspect nodes
// are left alone.
type leaveTransport struct {
	*memberlist.NetTransport
	leaving atomic.Pointer[leaveTargets]
	next    atomic.Uint64
}

// leaveTargets are memberlist's view when the leave started.
type leaveTargets struct {
	live  map[string]bool      // alive or suspect, by node name: sent to as addressed
	addrs []memberlist.Address // alive: where the rest goes
}

// newLeaveTransport binds memberlist's network transport.
func newLeaveTransport(conf *memberlist.NetTransportConfig) (*leaveTransport, error) {
	nt, err := memberlist.NewNetTransport(conf)
	if err != nil {
		return nil, err
	}
	return &leaveTransport{NetTransport: nt}, nil
}

// startLeave makes packets to nodes that are not live (neither alive nor
// suspect) go to the alive ones instead, round robin.
func (t *leaveTransport) startLeave(live map[string]bool, alive []memberlist.Address) {
	if len(alive) == 0 {
		return
	}
	t.leaving.Store(&leaveTargets{live: live, addrs: alive})
}

// WriteToAddress implements memberlist.NodeAwareTransport.
func (t *leaveTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if lt := t.leaving.Load(); lt != nil && a.Name != "" && !lt.live[a.Name] {
		a = lt.addrs[t.next.Add(1)%uint64(len(lt.addrs))]
	}
	return t.NetTransport.WriteToAddress(b, a)
}

var _ memberlist.NodeAwareTransport = (*leaveTransport)(nil)
