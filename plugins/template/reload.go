package template

import (
	"context"
	"errors"
	"fmt"
)

// reload makes the target service use the installed file when a reload is
// pending, in the none, signal and haproxy-master modes (runtime mode has
// its own pass).
func (p *Plugin) reload(ctx context.Context) error {
	if !p.pendingReload {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.ReloadTimeout)
	defer cancel()
	switch p.Mode {
	case ReloadNone:
		return nil
	case ReloadSignal:
		if err := p.host.ReloadService(ctx, p.Service); err != nil {
			return fmt.Errorf("reloading service %s: %w", p.Service, err)
		}
		p.countReload()
		return nil
	case ReloadHAProxyMaster:
		_, err := p.reloadMaster(ctx)
		return err
	}
	return fmt.Errorf("unknown reload mode %s", p.Mode)
}

// reloadMaster reloads HAProxy through its master CLI, confirmed by the
// master's counters. HAProxy not running (no socket) is no error: it reads
// the installed file when it starts.
func (p *Plugin) reloadMaster(ctx context.Context) (bool, error) {
	if err := masterReload(ctx, p.MasterSocket, &p.masterPending); err != nil {
		if errors.Is(err, errNotRunning) {
			p.log.Info("template: haproxy not running; it will read the new file when it starts", "master_socket", p.MasterSocket)
			return false, nil
		}
		return false, fmt.Errorf("reloading haproxy through %s: %w", p.MasterSocket, err)
	}
	p.countReload()
	return true, nil
}

// countReload counts a confirmed reload.
func (p *Plugin) countReload() {
	p.mu.Lock()
	p.st.reloads++
	p.mu.Unlock()
}
