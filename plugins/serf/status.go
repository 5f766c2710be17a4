package serf

import (
	"fmt"
	"sort"

	"github.com/corralhq/corral/plugins"
)

// Status implements plugins.StatusReporter: "3 members, 3 alive,
// joined 10.0.0.1".
func (p *Plugin) Status() plugins.PluginStatus {
	if p.agent == nil || p.state == nil {
		return plugins.PluginStatus{Description: "not started"}
	}
	sf := p.agent.Serf()
	members := sf.Members()
	alive := 0
	for _, m := range members {
		if m.Status.String() == "alive" {
			alive++
		}
	}
	self := sf.LocalMember()
	desc := fmt.Sprintf("%d members, %d alive", len(members), alive)
	joinDesc, detail := p.join.summary(p.Join)
	if joinDesc != "" {
		desc += ", " + joinDesc
	}
	_, events, skipped := p.state.snapshot()
	detail["node"] = self.Name
	detail["addr"] = fmt.Sprintf("%s:%d", self.Addr, self.Port)
	detail["members"] = len(members)
	detail["alive"] = alive
	detail["events"] = events
	detail["events_unchanged"] = skipped
	detail["encrypted"] = sf.EncryptionEnabled()
	detail["rpc_addr"] = p.RPCAddr
	ready := len(p.Join) == 0 || alive > 1
	return plugins.PluginStatus{Description: desc, Ready: ready, Detail: detail}
}

// Metrics implements plugins.MetricsSource.
func (p *Plugin) Metrics() []plugins.Metric {
	if p.state == nil {
		return nil
	}
	counts, events, _ := p.state.snapshot()
	var out []plugins.Metric
	for _, st := range []string{"alive", "leaving", "left", "failed"} {
		out = append(out, plugins.Metric{
			Name: "corral_serf_members", Help: "Cluster members known to this node, by status.", Type: "gauge",
			Labels: map[string]string{"status": st}, Value: float64(counts[st]),
		})
	}
	types := make([]string, 0, len(events))
	for t := range events {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		out = append(out, plugins.Metric{
			Name: "corral_serf_events_total", Help: "Membership events published on the bus, by type.", Type: "counter",
			Labels: map[string]string{"type": t}, Value: float64(events[t]),
		})
	}
	p.join.mu.Lock()
	attempts, failures := p.join.attempts, p.join.failures
	p.join.mu.Unlock()
	out = append(out,
		plugins.Metric{Name: "corral_serf_join_attempts_total", Help: "Join attempts made.", Type: "counter", Value: float64(attempts)},
		plugins.Metric{Name: "corral_serf_join_failures_total", Help: "Join attempts where no node answered.", Type: "counter", Value: float64(failures)},
	)
	return out
}
