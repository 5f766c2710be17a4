package hook

import (
	"fmt"
	"time"

	"github.com/corralhq/corral/plugins"
)

// Status implements plugins.StatusReporter: "3 runs, 1 failed; last
// member-join ok in 12ms". The hook is ready once it has joined a serf
// agent's handlers.
func (p *Plugin) Status() plugins.PluginStatus {
	p.mu.Lock()
	s := p.stats
	agents := len(p.removes)
	p.mu.Unlock()
	desc := fmt.Sprintf("%d runs, %d failed", s.runs, s.failures)
	switch {
	case agents == 0:
		desc = "waiting for a serf agent"
	case s.runs == 0:
		desc = "waiting for events"
	case s.lastErr != "":
		desc += fmt.Sprintf("; last %s failed: %s", s.lastEvent, s.lastErr)
	default:
		desc += fmt.Sprintf("; last %s ok in %s", s.lastEvent, s.lastDuration.Round(time.Millisecond))
	}
	detail := map[string]any{"command": []string(p.Command), "events": p.Events, "runs": s.runs, "failures": s.failures, "agents": agents}
	if s.lastErr != "" {
		detail["error"] = s.lastErr
	}
	if !s.lastAt.IsZero() {
		detail["last_run"] = s.lastAt
	}
	return plugins.PluginStatus{Description: desc, Ready: agents > 0, Detail: detail}
}

// Metrics implements plugins.MetricsSource.
func (p *Plugin) Metrics() []plugins.Metric {
	p.mu.Lock()
	s := p.stats
	p.mu.Unlock()
	return []plugins.Metric{
		{Name: "corral_hook_runs_total", Help: "Hook command runs, by result.", Type: "counter", Labels: map[string]string{"result": "ok"}, Value: float64(s.runs - s.failures)},
		{Name: "corral_hook_runs_total", Help: "Hook command runs, by result.", Type: "counter", Labels: map[string]string{"result": "failed"}, Value: float64(s.failures)},
		{Name: "corral_hook_last_run_seconds", Help: "Duration of the last hook command run.", Type: "gauge", Value: s.lastDuration.Seconds()},
	}
}
