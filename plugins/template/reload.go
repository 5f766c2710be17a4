package template

import (
	"context"
	"errors"
	"fmt"
)

// reload makes the target service use the installed file when a reload is
// pending; slots is the new slot list for runtime mode, and force (Reload
// of the plugin) makes runtime mode reload too. It reports whether it did
// anything.
func (p *Plugin) reload(ctx context.Context, slots []Slot, force bool) (bool, error) {
	if !p.pendingReload {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.ReloadTimeout)
	defer cancel()
	switch p.Mode {
	case ReloadNone:
		return false, nil
	case ReloadSignal:
		if err := p.host.ReloadService(ctx, p.Service); err != nil {
			return false, fmt.Errorf("reloading service %s: %w", p.Service, err)
		}
		p.countReload()
		return true, nil
	case ReloadHAProxyMaster:
		if err := masterReload(ctx, p.MasterSocket, &p.masterPending); err != nil {
			if errors.Is(err, errNotRunning) {
				p.log.Info("template: haproxy not running; it will read the new file when it starts", "master_socket", p.MasterSocket)
				return false, nil
			}
			return false, fmt.Errorf("reloading haproxy through %s: %w", p.MasterSocket, err)
		}
		p.countReload()
		return true, nil
	case ReloadRuntime:
		return true, p.runtime(ctx, slots, force)
	}
	return false, fmt.Errorf("unknown reload mode %s", p.Mode)
}

// runtime applies slot changes through the runtime API. It reloads through
// the master CLI instead when the slots grew, when the file changed in a way
// the slots do not explain (no slot changed), when forced, or when the
// runtime API fails.
func (p *Plugin) runtime(ctx context.Context, slots []Slot, force bool) error {
	old := p.applied
	cmds := runtimeCommands(p.Backend, old, slots, old == nil)
	grew := old != nil && len(slots) > len(old)
	if !grew && !force && len(cmds) > 0 {
		err := runtimeApply(ctx, p.StatsSocket, cmds)
		if err == nil {
			p.applied = slots
			p.mu.Lock()
			p.st.runtimeUpdates++
			p.mu.Unlock()
			return nil
		}
		if errors.Is(err, errNotRunning) {
			p.applied = nil // the next pass pushes every slot
			p.log.Info("template: haproxy not running; it will read the new file when it starts", "stats_socket", p.StatsSocket)
			return nil
		}
		p.log.Warn("template: runtime api failed, reloading haproxy", "error", err)
	} else {
		p.log.Info("template: reloading haproxy", "slots", len(slots), "grew", grew, "forced", force)
	}
	p.applied = nil
	if err := masterReload(ctx, p.MasterSocket, &p.masterPending); err != nil {
		if errors.Is(err, errNotRunning) {
			// It starts from the installed file; the next pass pushes every slot.
			p.log.Info("template: haproxy not running; it will read the new file when it starts", "master_socket", p.MasterSocket)
			return nil
		}
		return fmt.Errorf("reloading haproxy through %s: %w", p.MasterSocket, err)
	}
	p.countReload()
	p.applied = slots
	return nil
}

// countReload counts a confirmed reload.
func (p *Plugin) countReload() {
	p.mu.Lock()
	p.st.reloads++
	p.mu.Unlock()
}

// runtimeFirst is runtime mode's fast path: when the change is only slots
// filled or freed (no growth, HAProxy's state known), it is applied through
// the runtime API before the file is written and checked, since the
// commands carry only validated member data. It reports whether it applied
// the change; on an error HAProxy's state becomes unknown and the reload
// step after the write resyncs every slot or reloads.
func (p *Plugin) runtimeFirst(ctx context.Context, slots []Slot) bool {
	if p.Mode != ReloadRuntime || p.applied == nil || len(slots) != len(p.applied) {
		return false
	}
	cmds := runtimeCommands(p.Backend, p.applied, slots, false)
	if len(cmds) == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, p.ReloadTimeout)
	defer cancel()
	if err := runtimeApply(ctx, p.StatsSocket, cmds); err != nil {
		p.log.Warn("template: runtime api failed, will resync after writing the file", "error", err)
		p.applied = nil
		return false
	}
	p.applied = slots
	p.mu.Lock()
	p.st.runtimeUpdates++
	p.mu.Unlock()
	return true
}
