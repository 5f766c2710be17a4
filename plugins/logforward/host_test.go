package logforward

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/corralhq/corral/plugins/plugintest"
)

// newTestHost returns a plugin host whose log directory is logDir.
func newTestHost(logDir string) *plugintest.Host {
	h := plugintest.NewHost("logforward", slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	h.SetLogDir(logDir)
	h.SetHostname("node-1.test")
	return h
}

// startForwarder provisions and starts a forwarder; it is stopped at cleanup.
func startForwarder(t *testing.T, h *plugintest.Host, c Config) *Plugin {
	t.Helper()
	f := &Plugin{Config: c}
	if err := f.Provision(h); err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Stop(context.Background())
		h.Shutdown()
		for _, err := range h.Failures() {
			t.Errorf("plugin goroutine failed: %v", err)
		}
	})
	return f
}
