package serf

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/corralhq/corral/plugins"
)

// Status implements plugins.StatusReporter: "3 members, 3 alive,
// joined ha". A node taken out by `serf leave`, or alone while it receives
// messages it cannot decrypt, says so and is not ready.
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
	ready := len(p.Join) == 0 || alive > 1
	failures, last, recent := p.decrypt.recent()
	switch {
	case p.left.Load() != nil:
		at := *p.left.Load()
		desc = fmt.Sprintf("left the cluster by serf leave at %s; `supervisorctl start %s` rejoins", at.Format(time.TimeOnly), p.host.Name())
		detail["left_at"] = at
		ready = false
	case recent && alive <= 1:
		desc += fmt.Sprintf(", cannot decrypt gossip: %d messages undecryptable, the last %s ago (gossip key not the cluster's? see serf keys -list on a member)",
			failures, time.Since(last).Round(time.Second))
		ready = false
	case joinDesc != "":
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
	detail["keys_from"] = string(p.keys)
	detail["decrypt_failures"] = failures
	detail["rpc_addr"] = p.RPCAddr
	detail["handlers"] = p.handlers.count()
	detail["handler_runs"] = p.handlers.runs.Load()
	if r, _ := p.handlers.running.Load().(string); r != "" {
		detail["handler_running"] = r
	}
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
	for _, t := range slices.Sorted(maps.Keys(events)) {
		out = append(out, plugins.Metric{
			Name: "corral_serf_events_total", Help: "Membership events published on the bus, by type.", Type: "counter",
			Labels: map[string]string{"type": t}, Value: float64(events[t]),
		})
	}
	p.join.mu.Lock()
	attempts, failures := p.join.attempts, p.join.failures
	p.join.mu.Unlock()
	undecryptable, _, _ := p.decrypt.recent()
	out = append(out,
		plugins.Metric{Name: "corral_serf_join_attempts_total", Help: "Join attempts made.", Type: "counter", Value: float64(attempts)},
		plugins.Metric{Name: "corral_serf_join_failures_total", Help: "Join attempts where no node answered.", Type: "counter", Value: float64(failures)},
		plugins.Metric{Name: "corral_serf_decrypt_failures_total", Help: "Gossip messages and join answers no installed key could decrypt.", Type: "counter", Value: float64(undecryptable)},
		plugins.Metric{Name: "corral_serf_handler_runs_total", Help: "Event handler (hook) runs.", Type: "counter", Value: float64(p.handlers.runs.Load())},
	)
	return out
}
