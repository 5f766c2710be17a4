package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/corralhq/corral/plugins"
)

// pluginHost is the Host of one plugin instance.
type pluginHost struct {
	sup  *Supervisor
	name string
	log  *slog.Logger
	inst *pluginInstance // nil while only provisioning
}

func (h *pluginHost) Name() string         { return h.name }
func (h *pluginHost) Logger() *slog.Logger { return h.log }
func (h *pluginHost) Bus() *plugins.Bus    { return h.sup.bus }
func (h *pluginHost) LogDir() string       { return h.sup.opts.LogDir }
func (h *pluginHost) Hostname() string     { return h.sup.hostname }

// LookupEnv reads the environment services inherit.
func (h *pluginHost) LookupEnv(key string) (string, bool) { return h.sup.lookupEnv(key) }

// Go runs fn supervised: an error or a panic fails the plugin instance.
func (h *pluginHost) Go(fn func(ctx context.Context) error) {
	in := h.inst
	if in == nil {
		panic("corral: plugins.Host.Go called during Provision")
	}
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		err := in.protect("goroutine", func() error { return fn(in.ctx) })
		if err != nil && in.ctx.Err() == nil {
			if !errors.Is(err, plugins.ErrDone) {
				in.log.Error("plugin failed", "err", err)
			}
			in.fail(err)
		}
		if err != nil && in.ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			in.log.Debug("plugin goroutine ended after stop", "err", err)
		}
	}()
}

// Exec runs a command through the reaper.
func (h *pluginHost) Exec(ctx context.Context, cmd plugins.ExecSpec) (plugins.ExecResult, error) {
	if len(cmd.Argv) == 0 {
		return plugins.ExecResult{}, fmt.Errorf("%s: exec: empty command", h.name)
	}
	res, err := runToCompletion(ctx, cmd, h.sup.baseEnv)
	if err != nil {
		return res, fmt.Errorf("%s: exec %s: %w", h.name, cmd.Argv[0], err)
	}
	return res, nil
}

// ReloadService reloads another service by name.
func (h *pluginHost) ReloadService(ctx context.Context, name string) error {
	return h.sup.Reload(ctx, name)
}

var _ plugins.Host = (*pluginHost)(nil)
