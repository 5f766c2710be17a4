package control

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/corralhq/corral/control"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parseMetrics parses a text exposition with Prometheus' own parser.
func parseMetrics(t testing.TB, text []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, text)
	}
	return fams
}

// sample returns the value of name with the given service label ("" for none).
func sample(fams map[string]*dto.MetricFamily, name, service string) (float64, bool) {
	fam, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range fam.Metric {
		svc := ""
		for _, l := range m.Label {
			if l.GetName() == "service" {
				svc = l.GetValue()
			}
		}
		if svc != service {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func (c *corral) metricsText() []byte {
	c.t.Helper()
	b, err := c.client.Metrics(context.Background())
	if err != nil {
		c.t.Fatalf("GET /metrics: %v", err)
	}
	return b
}

func TestMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := startCorral(t, map[string]string{
		"web.toml":   `command = ["sleep", "1000"]` + "\n",
		"setup.toml": "type = \"oneshot\"\ncommand = \"exit 0\"\n",
		"crash.toml": "command = \"exit 3\"\nmax_restarts = 2\nrestart_window = \"60s\"\n",
	}, "--metrics-addr", addr)
	c.waitState(map[string]control.State{"web": control.Running, "setup": control.Exited, "crash": control.Fatal})
	if r := c.ctl("stop", "web"); r.code != 0 {
		t.Fatalf("stop web: %q", r.out)
	}
	if r := c.ctl("start", "web"); r.code != 0 {
		t.Fatalf("start web: %q", r.out)
	}
	fams := parseMetrics(t, c.metricsText())
	for _, tc := range []struct {
		name, service string
		check         func(float64) bool
		want          string
	}{
		{"corral_service_up", "web", func(v float64) bool { return v == 1 }, "1"},
		{"corral_service_up", "crash", func(v float64) bool { return v == 0 }, "0"},
		{"corral_service_ready", "web", func(v float64) bool { return v == 1 }, "1"},
		{"corral_service_restarts_total", "crash", func(v float64) bool { return v >= 1 }, ">= 1"},
		{"corral_service_last_exit_code", "crash", func(v float64) bool { return v == 3 }, "3"},
		{"corral_service_last_exit_code", "setup", func(v float64) bool { return v == 0 }, "0"},
		{"corral_service_last_exit_code", "web", func(v float64) bool { return v == 143 }, "143 (SIGTERM)"},
		{"corral_service_start_time_seconds", "web", func(v float64) bool { return v > 1.7e9 }, "a recent time"},
		{"corral_reaped_processes_total", "", func(v float64) bool { return v >= 4 }, ">= 4"},
		{"corral_process_resident_memory_bytes", "", func(v float64) bool { return v > 1<<20 }, "> 1 MiB"},
		{"corral_config_applies_total", "", func(v float64) bool { return v >= 1 }, ">= 1"},
	} {
		v, ok := sample(fams, tc.name, tc.service)
		if !ok || !tc.check(v) {
			t.Errorf("%s{service=%q} = %v (present %v), want %s", tc.name, tc.service, v, ok, tc.want)
		}
	}
	for name, typ := range map[string]dto.MetricType{
		"corral_service_restarts_total": dto.MetricType_COUNTER, "corral_reaped_processes_total": dto.MetricType_COUNTER,
		"corral_service_up": dto.MetricType_GAUGE, "corral_process_resident_memory_bytes": dto.MetricType_GAUGE,
	} {
		if f := fams[name]; f == nil || f.GetType() != typ || f.GetHelp() == "" {
			t.Errorf("%s: type %v help %q, want %v with help", name, f.GetType(), f.GetHelp(), typ)
		}
	}

	// The same on the TCP address.
	resp, err := http.Get(fmt.Sprintf("http://%s/metrics", addr))
	if err != nil {
		t.Fatalf("GET /metrics on --metrics-addr: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fams = parseMetrics(t, body)
	if v, ok := sample(fams, "corral_service_up", "web"); !ok || v != 1 {
		t.Errorf("TCP /metrics: corral_service_up{service=web} = %v (%v)", v, ok)
	}
}
