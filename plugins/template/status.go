package template

import (
	"fmt"
	"time"

	"github.com/corralhq/corral/plugins"
)

// stats are the plugin's counters, guarded by Plugin.mu.
type stats struct {
	renders        uint64
	skipped        uint64
	checkFailures  uint64
	reloads        uint64
	runtimeUpdates uint64
	rejected       uint64
	errors         uint64
	rejectedNow    int
	members        int
	servers        int  // runtime mode: servers in service in HAProxy's backend
	draining       int  // runtime mode: servers waiting for their connections to end
	serversKnown   bool // runtime mode: servers and draining are known
	lastRender     time.Time
	lastRenderDur  time.Duration
	lastErr        error
	lastErrTime    time.Time
}

// setError records the last error, shown by Status until a pass succeeds.
func (p *Plugin) setError(err error) {
	p.mu.Lock()
	p.st.lastErr = err
	p.st.lastErrTime = time.Now()
	p.st.errors++
	p.mu.Unlock()
}

// ok clears the last error after a successful pass.
func (p *Plugin) ok() {
	p.mu.Lock()
	p.st.lastErr = nil
	p.mu.Unlock()
}

// Status reports the member count, the last render and the last error.
func (p *Plugin) Status() plugins.PluginStatus {
	p.mu.Lock()
	st := p.st
	p.mu.Unlock()
	desc := fmt.Sprintf("%d members", st.members)
	if st.rejectedNow > 0 {
		desc += fmt.Sprintf(" (%d rejected)", st.rejectedNow)
	}
	desc += fmt.Sprintf(", %d renders, %d reloads, %d runtime updates", st.renders, st.reloads, st.runtimeUpdates)
	if st.draining > 0 {
		desc += fmt.Sprintf(", %d draining", st.draining)
	}
	if st.renders == 0 {
		desc = "waiting for membership"
	}
	detail := map[string]any{
		"reload":                p.Mode.String(),
		"destination":           p.Destination,
		"members":               st.members,
		"rejected_members":      st.rejectedNow,
		"renders_total":         st.renders,
		"skipped_total":         st.skipped,
		"check_failures_total":  st.checkFailures,
		"reloads_total":         st.reloads,
		"runtime_updates_total": st.runtimeUpdates,
	}
	if st.serversKnown {
		detail["servers"] = st.servers
		detail["draining"] = st.draining
	}
	if !st.lastRender.IsZero() {
		detail["last_render"] = st.lastRender.UTC().Format(time.RFC3339Nano)
		detail["last_render_duration"] = st.lastRenderDur.String()
	}
	if st.lastErr != nil {
		desc = "error: " + st.lastErr.Error() + "; " + desc
		detail["error"] = st.lastErr.Error()
		detail["error_time"] = st.lastErrTime.UTC().Format(time.RFC3339Nano)
	}
	return plugins.PluginStatus{Description: desc, Ready: st.lastErr == nil, Detail: detail}
}

// Metrics exports the counters.
func (p *Plugin) Metrics() []plugins.Metric {
	p.mu.Lock()
	st := p.st
	p.mu.Unlock()
	c := func(name, help string, v uint64) plugins.Metric {
		return plugins.Metric{Name: "corral_template_" + name, Help: help, Type: "counter", Value: float64(v)}
	}
	g := func(name, help string, v float64) plugins.Metric {
		return plugins.Metric{Name: "corral_template_" + name, Help: help, Type: "gauge", Value: v}
	}
	return []plugins.Metric{
		c("renders_total", "Templates rendered.", st.renders),
		c("skipped_total", "Renders that changed nothing.", st.skipped),
		c("check_failures_total", "Rendered files rejected by the check command.", st.checkFailures),
		c("reloads_total", "Confirmed reloads of the target service.", st.reloads),
		c("runtime_updates_total", "Changes applied through HAProxy's runtime API without a reload.", st.runtimeUpdates),
		g("draining_servers", "Servers in maintenance, deleted once their connections end (runtime mode).", float64(st.draining)),
		c("rejected_members_total", "Members dropped from the template data as unsafe, per render.", st.rejected),
		c("errors_total", "Failed pipeline passes (render, check, write or reload).", st.errors),
		g("members", "Members in the last render.", float64(st.members)),
		g("last_render_duration_seconds", "Time taken by the last render.", st.lastRenderDur.Seconds()),
	}
}
