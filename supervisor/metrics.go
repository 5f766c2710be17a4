package supervisor

import (
	"bytes"
	"os"
	"strconv"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/supervisor/internal/reaper"
)

// Metrics returns the engine's metrics and those of running plugins.
func (s *Supervisor) Metrics() []plugins.Metric {
	sts, _ := s.Status()
	out := ServiceMetrics(sts)
	for _, st := range sts {
		u, ok := s.unit(st.Name)
		if !ok {
			continue
		}
		u.mu.Lock()
		pi, isPlugin := u.inst.(*pluginInstance)
		u.mu.Unlock()
		if !isPlugin {
			continue
		}
		for _, m := range pi.metrics() {
			if m.Labels == nil {
				m.Labels = map[string]string{}
			}
			if _, set := m.Labels["service"]; !set {
				m.Labels["service"] = st.Name
			}
			out = append(out, m)
		}
	}
	return append(out,
		plugins.Metric{Name: "corral_reaped_processes_total", Help: "Processes reaped by corral (its own children and orphans).", Type: "counter", Value: float64(reaper.Reaped())},
		plugins.Metric{Name: "corral_config_applies_total", Help: "Times a set of service files was applied (start-up and live updates that changed something).", Type: "counter", Value: float64(s.applies.Load())},
		plugins.Metric{Name: "corral_config_errors", Help: "Service files that are currently invalid.", Type: "gauge", Value: float64(len(s.configErrors()))},
		plugins.Metric{Name: "corral_process_resident_memory_bytes", Help: "corral's resident set size.", Type: "gauge", Value: float64(ResidentBytes())},
	)
}

// ServiceMetrics returns the per-service metrics of statuses: up, ready,
// restarts, the start time of the current or last process (once started)
// and the last exit code as a shell reports it (once exited).
func ServiceMetrics(sts []control.ServiceStatus) []plugins.Metric {
	out := make([]plugins.Metric, 0, 5*len(sts))
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, st := range sts {
		l := map[string]string{"service": st.Name}
		out = append(out,
			plugins.Metric{Name: "corral_service_up", Help: "Whether the service has a live process or plugin (1) or not (0).", Type: "gauge", Labels: l, Value: b(st.State.Up())},
			plugins.Metric{Name: "corral_service_ready", Help: "Whether the service is ready.", Type: "gauge", Labels: l, Value: b(st.Ready)},
			plugins.Metric{Name: "corral_service_restarts_total", Help: "Restarts by policy since corral started.", Type: "counter", Labels: l, Value: float64(st.Restarts)},
		)
		if !st.Started.IsZero() {
			out = append(out, plugins.Metric{Name: "corral_service_start_time_seconds", Help: "Start time of the current or last process, in seconds since the epoch.", Type: "gauge", Labels: l, Value: float64(st.Started.UnixNano()) / 1e9})
		}
		if st.LastExit != nil {
			out = append(out, plugins.Metric{Name: "corral_service_last_exit_code", Help: "Exit code of the last process (128+signal when killed).", Type: "gauge", Labels: l, Value: float64(st.LastExit.ShellCode())})
		}
	}
	return out
}

func (s *Supervisor) configErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.configErrs
}

// ResidentBytes reads this process's resident set size from
// /proc/self/statm (0 if it cannot).
func ResidentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
