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
// skip if unchanged, stage, check, install, reload. It reports whether the
// pass ended well (a skipped render counts as success).
func (p *Plugin) apply(ctx context.Context) bool {
	p.mu.Lock()
	if !p.haveEvent {
		p.mu.Unlock()
		return true
	}
	alive, tmpl, force := p.alive, p.tmpl, p.force
	p.force = false
	p.mu.Unlock()

	start := time.Now()
	members, rejected := p.members(alive)
	p.logRejected(rejected)
	names := p.slots.assign(members)
	data := &Data{
		Members:  members,
		Slots:    p.slots.slots(names, members),
		Backend:  p.Backend,
		Rejected: len(rejected),
	}
	out, err := render(tmpl, data)
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
	early := changed && !force && p.runtimeFirst(ctx, data.Slots)
	if early {
		// HAProxy has the new assignment now, whatever becomes of the file.
		p.slots.commit(names)
	}
	tWrite := time.Now()
	wasBehind := p.fileBehind
	if changed {
		if err := p.writeFile(ctx, out); err != nil {
			if errors.Is(err, errCheckFailed) {
				p.mu.Lock()
				p.st.checkFailures++
				p.mu.Unlock()
			}
			if early {
				p.fileBehind = true
			}
			p.fail(fmt.Errorf("template: %w", err))
			return false
		}
		p.fileBehind = false
	}
	p.slots.commit(names)
	// A file catching up with slots already applied through the runtime API
	// needs no reload.
	catchUp := wasBehind && p.Mode == ReloadRuntime && p.applied != nil &&
		len(p.applied) == len(data.Slots) && len(runtimeCommands(p.Backend, p.applied, data.Slots, false)) == 0
	if !early && (force || (changed && !catchUp) || (p.Mode == ReloadRuntime && p.applied == nil)) {
		p.pendingReload = true
	}
	tReload := time.Now()
	did, err := p.reload(ctx, data.Slots, force)
	p.log.Debug("template: pass", "changed", changed, "reloaded", did, "render", elapsed,
		"runtime_first", early, "write_check", tReload.Sub(tWrite), "reload", time.Since(tReload))
	if err != nil {
		p.fail(fmt.Errorf("template: %w", err))
		return false
	}
	p.pendingReload = false
	if !changed && !did && !early {
		p.mu.Lock()
		p.st.skipped++
		p.mu.Unlock()
	}
	p.ok()
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

// fail records and logs an error; the plugin keeps running.
func (p *Plugin) fail(err error) {
	p.log.Error(err.Error())
	p.setError(err)
}
