// Package logforward is the "logforward" plugin: it follows the services'
// log files (see supervisor/logfile) and ships each line to a syslog
// collector as RFC 5424, over TCP with octet-counting framing (RFC 6587),
// TLS (RFC 5425) or UDP (RFC 5426), at least once. See README.md.
package logforward

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/corralhq/corral/plugins"
)

// Name is the name service files use: plugin = "logforward".
const Name = "logforward"

func init() {
	plugins.Register(Name, func() plugins.Plugin { return New() })
}

// New returns a logforward plugin with its defaults, ready to decode its table into.
func New() *Plugin { return &Plugin{} }

// Plugin is one logforward instance. Its Config is decoded from the
// service file's [logforward] table.
type Plugin struct {
	Config

	host  plugins.Host
	s     settings
	stats stats
	// idle is set by Start when corral writes no log files.
	idle bool

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// stats are the counters Status and Metrics report.
type stats struct {
	connected     atomic.Bool
	everConnected atomic.Bool
	linesSent     atomic.Uint64
	errors        atomic.Uint64
	reconnects    atomic.Uint64
	lagBytes      atomic.Int64
	tailers       atomic.Int64
	lastErr       atomic.Pointer[string]
}

func (s *stats) setErr(err error) {
	msg := err.Error()
	s.lastErr.Store(&msg)
}

// Provision validates the settings.
func (f *Plugin) Provision(host plugins.Host) error {
	s, err := f.Config.validate()
	if err != nil {
		return err
	}
	if s.StateDir == "" && host.LogDir() != "" {
		s.StateDir = filepath.Join(host.LogDir(), ".logforward")
	}
	f.host, f.s = host, s
	return nil
}

// Start creates the state directory and starts forwarding.
func (f *Plugin) Start(ctx context.Context) error {
	if f.host == nil {
		return errors.New("logforward: started without Provision")
	}
	if f.host.LogDir() == "" {
		// corral writes no log files (--no-log-files, or no writable
		// directory): there is nothing to forward, which is no failure.
		f.idle = true
		f.host.Logger().Warn("logforward: corral writes no log files: nothing to forward")
		return nil
	}
	if err := os.MkdirAll(f.s.StateDir, 0o700); err != nil {
		return fmt.Errorf("logforward: creating the state dir: %w", err)
	}
	snd := &sender{
		s:      f.s,
		logDir: f.host.LogDir(),
		log:    f.host.Logger(),
		stats:  &f.stats,
		fm:     newFormatter(f.host.Hostname(), f.s.facility, f.s.proto == UDP),
		byKey:  map[string]*tailer{},
		out:    make([]byte, 0, f.s.BatchSize/4+128<<10),
	}
	snd.com = newCommitter(snd.log, &f.stats.errors)
	if f.s.proto == TLS {
		tc, err := tlsConfig(f.s)
		if err != nil {
			return fmt.Errorf("logforward: %w", err)
		}
		snd.tls = tc
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	f.mu.Lock()
	f.cancel, f.done = cancel, done
	f.mu.Unlock()
	f.host.Go(func(hctx context.Context) error {
		defer close(done)
		stop := context.AfterFunc(hctx, cancel)
		defer stop()
		comDone := make(chan struct{})
		comExited := make(chan struct{})
		go func() {
			defer close(comExited)
			snd.com.loop(comDone)
		}()
		err := snd.loop(runCtx)
		close(comDone)
		<-comExited
		return err
	})
	return nil
}

// Stop stops forwarding and saves the last acknowledged positions. It is
// safe to call twice.
func (f *Plugin) Stop(ctx context.Context) error {
	f.mu.Lock()
	cancel, done := f.cancel, f.done
	f.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("logforward: stopping: %w", ctx.Err())
	}
}

// Status reports the connection and the lag.
func (f *Plugin) Status() plugins.PluginStatus {
	if f.idle {
		return plugins.PluginStatus{Description: "idle: corral writes no log files to forward", Ready: true,
			Detail: map[string]any{"idle": true}}
	}
	st := &f.stats
	conn := st.connected.Load()
	lag := st.lagBytes.Load()
	desc := fmt.Sprintf("connected to %s %s, lag %d bytes", f.s.proto, f.s.Address, lag)
	if !conn {
		desc = fmt.Sprintf("not connected to %s %s, lag %d bytes", f.s.proto, f.s.Address, lag)
		if e := st.lastErr.Load(); e != nil {
			desc += ": " + *e
		}
	}
	detail := map[string]any{
		"connected":  conn,
		"address":    f.s.Address,
		"protocol":   f.s.proto.String(),
		"lag_bytes":  lag,
		"lines_sent": st.linesSent.Load(),
		"errors":     st.errors.Load(),
		"reconnects": st.reconnects.Load(),
		"streams":    st.tailers.Load(),
		"state_dir":  f.s.StateDir,
	}
	if e := st.lastErr.Load(); e != nil {
		detail["last_error"] = *e
	}
	return plugins.PluginStatus{Description: desc, Ready: conn, Detail: detail}
}

// Metrics exports the counters on /metrics.
func (f *Plugin) Metrics() []plugins.Metric {
	st := &f.stats
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	return []plugins.Metric{
		{Name: "corral_logforward_lines_sent_total", Help: "Log lines written to the collector (resent lines included).", Type: "counter", Value: float64(st.linesSent.Load())},
		{Name: "corral_logforward_errors_total", Help: "Connection, write, read and position-saving errors.", Type: "counter", Value: float64(st.errors.Load())},
		{Name: "corral_logforward_lag_bytes", Help: "Bytes of log files not yet read.", Type: "gauge", Value: float64(st.lagBytes.Load())},
		{Name: "corral_logforward_reconnects_total", Help: "Connections to the collector made after the first.", Type: "counter", Value: float64(st.reconnects.Load())},
		{Name: "corral_logforward_connected", Help: "1 while connected to the collector.", Type: "gauge", Value: b2f(st.connected.Load())},
	}
}

var (
	_ plugins.Plugin         = (*Plugin)(nil)
	_ plugins.Provisioner    = (*Plugin)(nil)
	_ plugins.StatusReporter = (*Plugin)(nil)
	_ plugins.MetricsSource  = (*Plugin)(nil)
)
