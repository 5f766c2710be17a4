package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/corralhq/corral/plugins"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteMetrics renders ms in the Prometheus text exposition format: samples
// grouped by name in order of first appearance, HELP and TYPE once per name
// (from the first sample that has them), labels sorted, label values and help
// escaped. Samples with an invalid metric or label name are skipped.
func WriteMetrics(w io.Writer, ms []plugins.Metric) error {
	var order []string
	groups := map[string][]plugins.Metric{}
	for _, m := range ms {
		if !validName(m.Name, false) {
			continue
		}
		if _, ok := groups[m.Name]; !ok {
			order = append(order, m.Name)
		}
		groups[m.Name] = append(groups[m.Name], m)
	}
	bw := bufio.NewWriter(w)
	for _, name := range order {
		g := groups[name]
		help, typ := "", ""
		for _, m := range g {
			if help == "" {
				help = m.Help
			}
			if typ == "" {
				typ = m.Type
			}
		}
		switch typ {
		case "counter", "gauge", "untyped":
		default:
			typ = "untyped"
		}
		if help != "" {
			fmt.Fprintf(bw, "# HELP %s %s\n", name, escapeHelp(help))
		}
		fmt.Fprintf(bw, "# TYPE %s %s\n", name, typ)
		for _, m := range g {
			bw.WriteString(name)
			writeLabels(bw, m.Labels)
			bw.WriteByte(' ')
			bw.WriteString(formatValue(m.Value))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// writeLabels writes {k="v",...} with keys sorted, or nothing.
func writeLabels(bw *bufio.Writer, labels map[string]string) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if validName(k, true) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.Sort(keys)
	bw.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(k)
		bw.WriteString(`="`)
		bw.WriteString(escapeLabel(labels[k]))
		bw.WriteByte('"')
	}
	bw.WriteByte('}')
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

// formatValue writes a float the way Prometheus does.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// validName checks a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, with label
// set, a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
func validName(s string, label bool) bool {
	if s == "" || (label && strings.HasPrefix(s, "__")) {
		return false
	}
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') ||
			(i > 0 && r >= '0' && r <= '9') || (!label && r == ':')
		if !ok {
			return false
		}
	}
	return true
}

// metricsHandler serves GET /metrics.
func metricsHandler(c Controller, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ContentType)
		if err := WriteMetrics(w, c.Metrics()); err != nil {
			log.Debug("writing metrics", "err", err)
		}
	}
}

// ServeMetrics serves GET /metrics (only) on a TCP address such as
// "127.0.0.1:9100" until ctx is done. It is off unless configured: unlike the
// socket, it has no access control.
func ServeMetrics(ctx context.Context, addr string, c Controller) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for metrics: %w", err)
	}
	return ServeMetricsListener(ctx, ln, c)
}

// ServeMetricsListener is ServeMetrics on an existing listener.
func ServeMetricsListener(ctx context.Context, ln net.Listener, c Controller) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(c, slog.New(slog.DiscardHandler)))
	lim := newLimiter(ln, DefaultMaxConns, 0, slog.New(slog.DiscardHandler))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: DefaultIdleTimeout, IdleTimeout: DefaultIdleTimeout,
		MaxHeaderBytes: 64 << 10, ConnState: lim.track}
	return serveUntil(ctx, srv, lim)
}

// serveUntil runs srv on ln until ctx is done, then shuts it down.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-errc
	return nil
}
