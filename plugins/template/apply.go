package template

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// apply runs one pass of the pipeline on the latest member list: render,
// then, when the bytes changed, stage, check and install the file, and
// make the service use it (by reload mode). It reports whether the pass
// ended well (a pass that changed nothing counts as success).
func (p *Plugin) apply(ctx context.Context) bool {
	p.mu.Lock()
	if !p.haveEvent {
		p.mu.Unlock()
		return true
	}
	alive, tmpl, force := p.alive, p.tmpl, p.force
	p.force = false
	updates, reloads := p.st.runtimeUpdates, p.st.reloads
	p.mu.Unlock()

	start := time.Now()
	members, rejected, skipped := p.members(alive)
	p.logRejected(rejected)
	p.logSkipped(skipped)
	out, err := render(tmpl, &Data{Members: members, Backend: p.Backend, Rejected: len(rejected)})
	elapsed := time.Since(start)
	p.mu.Lock()
	p.st.renders++
	p.st.lastRenderDur = elapsed
	p.st.lastRender = start
	p.st.members = len(members)
	p.st.rejected += uint64(len(rejected))
	p.st.rejectedNow = len(rejected)
	p.mu.Unlock()
	if err != nil {
		p.fail(fmt.Errorf("template: %w", err))
		return false
	}

	changed := !unchanged(p.Destination, out)
	var ok bool
	if p.Mode == ReloadRuntime {
		ok = p.passRuntime(ctx, out, changed, force)
	} else {
		ok = p.passReload(ctx, out, changed, force)
	}
	p.mu.Lock()
	if ok && !changed && p.st.runtimeUpdates == updates && p.st.reloads == reloads {
		p.st.skipped++
	}
	p.mu.Unlock()
	p.showServers()
	if ok {
		p.ok()
	}
	p.log.Debug("template: pass", "changed", changed, "ok", ok, "render", elapsed, "total", time.Since(start))
	return ok
}

// passReload is a pass in the modes that reload (none, signal,
// haproxy-master): install the file when it changed, then reload when it
// changed or when forced. A failed reload stays pending and is retried.
func (p *Plugin) passReload(ctx context.Context, out []byte, changed, force bool) bool {
	if changed {
		if err := p.writeFile(ctx, out); err != nil {
			p.failWrite(err)
			return false
		}
	}
	if changed || force {
		p.pendingReload = true
	}
	if err := p.reload(ctx); err != nil {
		p.fail(fmt.Errorf("template: %w", err))
		return false
	}
	p.pendingReload = false
	return true
}

// writeFile stages out, checks it and installs it over the destination.
func (p *Plugin) writeFile(ctx context.Context, out []byte) error {
	staged, err := stage(p.Destination, out, p.fileMode())
	if err != nil {
		return err
	}
	defer os.Remove(staged) // no-op once renamed
	if err := check(ctx, p.host, p.Check, staged, &p.Config); err != nil {
		return err
	}
	if err := install(staged, p.Destination); err != nil {
		return err
	}
	p.log.Info("template: installed new file", "destination", p.Destination, "bytes", len(out))
	return nil
}

// failWrite records a failed stage, check or install.
func (p *Plugin) failWrite(err error) {
	if errors.Is(err, errCheckFailed) {
		p.mu.Lock()
		p.st.checkFailures++
		p.mu.Unlock()
	}
	p.fail(fmt.Errorf("template: %w", err))
}

// logRejected warns about unsafe members when the set changes.
func (p *Plugin) logRejected(rej []rejection) {
	var b strings.Builder
	for _, r := range rej {
		b.WriteString(r.name)
		b.WriteString(": ")
		b.WriteString(r.reason)
		b.WriteString("; ")
	}
	if s := b.String(); s != p.lastRejected {
		p.lastRejected = s
		for _, r := range rej {
			p.log.Warn("template: member dropped from the template data", "member", r.name, "reason", r.reason)
		}
	}
}

// logSkipped says once per member why it is not in the template data for
// its role (the Serf lab's web apps were tagged role=backend: a role that
// does not match is the first thing to check when a node is not served).
func (p *Plugin) logSkipped(skipped []rejection) {
	for _, r := range skipped {
		if p.skipLogged[r.name] {
			continue
		}
		if p.skipLogged == nil {
			p.skipLogged = map[string]bool{}
		}
		p.skipLogged[r.name] = true
		p.log.Info("template: member left out", "member", r.name, "reason", r.reason)
	}
}

// fail records and logs an error; the plugin keeps running.
func (p *Plugin) fail(err error) {
	p.log.Error(err.Error())
	p.setError(err)
}
