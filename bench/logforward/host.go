package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/corralhq/corral/plugins"
)

// host is a minimal plugins.Host for running the plugin alone.
type host struct {
	logDir string
	log    *slog.Logger
	ctx    context.Context
}

func (h *host) Name() string         { return "logforward" }
func (h *host) Logger() *slog.Logger { return h.log }
func (h *host) Bus() *plugins.Bus    { return plugins.NewBus() }
func (h *host) LogDir() string       { return h.logDir }
func (h *host) Hostname() string {
	n, _ := os.Hostname()
	return n
}
func (h *host) ReloadService(context.Context, string) error { return errors.ErrUnsupported }
func (h *host) Exec(context.Context, plugins.ExecSpec) (plugins.ExecResult, error) {
	return plugins.ExecResult{}, errors.ErrUnsupported
}
func (h *host) Go(fn func(ctx context.Context) error) {
	go func() {
		if err := fn(h.ctx); err != nil && !errors.Is(err, context.Canceled) {
			h.log.Error("logforward failed", "err", err)
			os.Exit(1)
		}
	}()
}

var _ plugins.Host = (*host)(nil)
