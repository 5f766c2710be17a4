package template

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// passRuntime is a pass in runtime mode.
//
// When only the managed backend's server lines changed and HAProxy's
// servers are known, HAProxy gets them through its runtime API before the
// file is written and checked (the commands carry the template's own
// keywords and validated member data), so a member is served within
// milliseconds of its join; then the file is installed with the same
// servers, so a reload or a restart of HAProxy comes back identical.
//
// When HAProxy's servers are not known (the plugin just started, or the
// runtime API failed), the file is installed first, then HAProxy's servers
// are read back (`show servers state`) and changed. When more than the
// servers changed, on the plugin's Reload, or when the runtime API fails,
// HAProxy is reloaded through its master CLI.
func (p *Plugin) passRuntime(ctx context.Context, out []byte, changed, force bool) bool {
	want, rest, err := backendServers(out, p.Backend)
	if err != nil {
		p.fail(fmt.Errorf("template: %w", err))
		return false
	}
	if !p.runningRead {
		// What HAProxy loaded is, as far as can be known, the file in place.
		p.running, p.runningOK = p.installedRest()
		p.runningRead = true
	}
	onlyServers := !force && p.runningOK && bytes.Equal(rest, p.running)
	early := onlyServers && p.live != nil && p.syncServers(ctx, want)
	if changed {
		if err := p.writeFile(ctx, out); err != nil {
			p.failWrite(err)
			return false
		}
	}
	if early {
		return true
	}
	if onlyServers {
		if p.live == nil {
			live, err := p.readLive(ctx)
			if errors.Is(err, errNotRunning) {
				// It reads the file when it starts; but it may be starting
				// from the previous one right now: look again soon.
				if !p.absent {
					p.log.Info("template: haproxy not running; it will read the file when it starts", "stats_socket", p.StatsSocket)
				}
				p.absent, p.recheck = true, true
				return true
			}
			p.absent = false
			if err != nil {
				p.log.Warn("template: reading haproxy's servers failed, reloading it", "error", err)
			}
			p.live = live
		}
		if p.live != nil && p.syncServers(ctx, want) {
			return true
		}
	}
	return p.reloadRuntime(ctx, want, rest, force)
}

// installedRest returns the installed file without the managed backend's
// servers, and whether it could be read and parsed.
func (p *Plugin) installedRest() ([]byte, bool) {
	b, err := os.ReadFile(p.Destination)
	if err != nil {
		return nil, false
	}
	_, rest, err := backendServers(b, p.Backend)
	return rest, err == nil
}

// syncServers makes HAProxy's servers those of want through the runtime
// API. It reports whether HAProxy has them now; when not, HAProxy's servers
// are unknown (p.live is nil) or need a reload.
func (p *Plugin) syncServers(ctx context.Context, want []serverLine) bool {
	ops, err := plan(p.Backend, p.live, want)
	if err != nil {
		p.log.Info("template: reloading haproxy", "reason", err)
		return false
	}
	if len(ops) == 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, p.ReloadTimeout)
	defer cancel()
	if err := runOps(ctx, p.StatsSocket, p.live, want, ops); err != nil {
		if !errors.Is(err, errNotRunning) {
			p.log.Warn("template: runtime api failed", "error", err)
		}
		p.live = nil
		return false
	}
	p.mu.Lock()
	p.st.runtimeUpdates++
	p.mu.Unlock()
	p.showServers()
	return true
}

// readLive reads HAProxy's servers in the managed backend.
func (p *Plugin) readLive(ctx context.Context) (liveServers, error) {
	ctx, cancel := context.WithTimeout(ctx, p.ReloadTimeout)
	defer cancel()
	return readLive(ctx, p.StatsSocket, p.Backend)
}

// reloadRuntime reloads HAProxy through its master CLI, after which its
// servers are the file's. A failed reload stays pending and is retried.
func (p *Plugin) reloadRuntime(ctx context.Context, want []serverLine, rest []byte, force bool) bool {
	p.log.Info("template: reloading haproxy", "forced", force, "servers", len(want))
	p.live = nil
	p.pendingReload = true
	ctx, cancel := context.WithTimeout(ctx, p.ReloadTimeout)
	defer cancel()
	did, err := p.reloadMaster(ctx)
	if err != nil {
		p.fail(fmt.Errorf("template: %w", err))
		return false
	}
	p.pendingReload = false
	p.running, p.runningOK = rest, true
	if did {
		p.live = fromLines(want)
	}
	return true
}

// sweep deletes the draining servers HAProxy lets go (their connections
// are gone); it runs on a timer while some are left.
func (p *Plugin) sweep(ctx context.Context) {
	if p.live == nil {
		return
	}
	ops := sweepOps(p.Backend, p.live)
	if len(ops) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, p.ReloadTimeout)
	defer cancel()
	err := runOps(ctx, p.StatsSocket, p.live, nil, ops)
	if err == nil && p.draining() > 0 {
		// Still refused: servers left with idle connections only go
		// through maintenance again (see repurgeAfter).
		var out string
		if out, err = cliCommand(ctx, p.StatsSocket, "show servers conn "+p.Backend); err == nil {
			var idle map[string]bool
			if idle, err = parseIdleOnly(out, p.Backend); err == nil {
				if ops := repurgeOps(p.Backend, p.live, idle, time.Now()); len(ops) > 0 {
					p.log.Info("template: draining servers with idle connections only enter maintenance again", "servers", len(ops)/3)
					err = runOps(ctx, p.StatsSocket, p.live, nil, ops)
				}
			}
		}
	}
	if err != nil {
		p.log.Warn("template: deleting drained servers failed; reading haproxy's servers again", "error", err)
		p.live, _ = readLive(ctx, p.StatsSocket, p.Backend)
	}
	p.showServers()
}

// draining returns how many servers wait for their connections to end.
func (p *Plugin) draining() int {
	_, d := p.live.count()
	return d
}

// showServers publishes HAProxy's server counts for Status.
func (p *Plugin) showServers() {
	active, draining := p.live.count()
	p.mu.Lock()
	p.st.servers, p.st.draining, p.st.serversKnown = active, draining, p.live != nil
	p.mu.Unlock()
}
