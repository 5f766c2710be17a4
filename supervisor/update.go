package supervisor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/services"
)

// plan is what an update would do.
type updatePlan struct {
	next *services.Set
	diff control.ConfigDiff
	// kept are running services whose file is now invalid: they keep their
	// running definition, with the error shown in their status.
	kept map[string]error
}

// planUpdate compares next, a freshly loaded set, with what runs.
func (s *Supervisor) planUpdate(next *services.Set) *updatePlan {
	s.mu.Lock()
	running := s.set
	s.mu.Unlock()
	p := &updatePlan{next: next, kept: map[string]error{}}
	byService := map[string]error{}
	byFile := map[string]error{}
	for _, e := range next.Errors {
		p.diff.Errors = append(p.diff.Errors, e.Error())
		var se *services.Error
		if errors.As(e, &se) {
			if se.Service != "" {
				byService[se.Service] = e
			}
			byFile[se.File] = e
		}
	}
	if running == nil {
		running = &services.Set{}
	}
	d := services.Compare(running, next)
	p.diff.Added, p.diff.Changed = d.Added, d.Changed
	invalid := map[string]bool{}
	for _, name := range d.Invalid {
		invalid[name] = true
	}
	for _, name := range d.Removed {
		if !invalid[name] {
			p.diff.Removed = append(p.diff.Removed, name)
			continue
		}
		e := byService[name]
		if e == nil {
			e = byFile[running.Get(name).File]
		}
		if e == nil {
			e = fmt.Errorf("%s: service file is invalid", name)
		}
		p.kept[name] = e
	}
	if p.diff.Errors == nil {
		p.diff.Errors = []string{}
	}
	return p
}

// Reread says what Update would change, changing nothing.
func (s *Supervisor) Reread() (control.ConfigDiff, error) {
	<-s.initialized
	next, err := s.load(true)
	if err != nil {
		return control.ConfigDiff{}, err
	}
	return s.planUpdate(next).diff, nil
}

// Update applies the services directory: added services start, removed ones
// stop, changed ones (and what depends on them) restart with the new
// definition. A file that became invalid keeps its service running.
func (s *Supervisor) Update(ctx context.Context) (control.ConfigDiff, error) {
	select {
	case <-s.initialized:
	case <-ctx.Done():
		return control.ConfigDiff{}, ctx.Err()
	}
	// Reading the files may be slow: it happens before taking applyMu, so
	// that a shutdown never waits for it.
	next, err := s.loadSet()
	if err != nil {
		return control.ConfigDiff{}, err
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.stopping.Load() {
		return control.ConfigDiff{}, control.ErrShuttingDown
	}
	p := s.planUpdate(next)
	// Once begun, an update runs to its end even if the caller goes away
	// (each stop is bounded by stop_timeout): half an update would leave
	// changed services stopped.
	s.apply(context.WithoutCancel(ctx), p)
	return p.diff, nil
}

func (s *Supervisor) apply(ctx context.Context, p *updatePlan) {
	next := p.next
	// Kept services stay in the running set with their old definition.
	s.mu.Lock()
	running := s.set
	s.mu.Unlock()
	for name, e := range p.kept {
		next.Services = append(next.Services, running.Get(name))
		if u, ok := s.unit(name); ok {
			_ = u.send(ctx, message{kind: msgInvalid, err: e})
			u.log.Error("service file is invalid: keeping the running definition", "err", e)
		}
	}
	next.Services = services.Order(next.Services)

	// Stop the changed services and, transitively, what comes after them,
	// and the removed ones; start them again below.
	restart := map[string]bool{}
	for _, n := range p.diff.Changed {
		restart[n] = true
		for _, d := range next.Dependents(n) {
			restart[d] = true
		}
	}
	for _, n := range p.diff.Removed {
		restart[n] = true
	}
	// A running reader whose first writer just appeared reads /dev/null:
	// it restarts to read the pipe.
	for _, n := range append(append([]string(nil), p.diff.Added...), p.diff.Changed...) {
		to := next.Get(n).StdoutTo
		if _, running := s.unit(to); running && to != "" && !s.pipeline.isReading(to) {
			restart[to] = true
		}
	}
	s.stopUnits(ctx, slices.Collect(maps.Keys(restart)))

	s.mu.Lock()
	var removed []*unit
	for _, n := range p.diff.Removed {
		if u, ok := s.units[n]; ok {
			removed = append(removed, u)
			delete(s.units, n)
		}
	}
	type redefinition struct {
		u   *unit
		svc *services.Service
	}
	var (
		toStart  []*unit
		redefine []redefinition
	)
	s.order = s.order[:0]
	for _, svc := range next.Services {
		s.order = append(s.order, svc.Name)
		u, ok := s.units[svc.Name]
		if !ok {
			u = newUnit(s, s.log, svc)
			s.units[svc.Name] = u
			toStart = append(toStart, u)
			continue
		}
		if _, kept := p.kept[svc.Name]; !kept {
			// Changed and stopped, or the same definition (whose file name
			// may have changed).
			redefine = append(redefine, redefinition{u, svc})
		}
		if restart[svc.Name] {
			toStart = append(toStart, u)
		}
	}
	s.set = next
	s.configErrs = next.Errors
	s.mu.Unlock()
	for _, r := range redefine {
		if err := r.u.send(ctx, message{kind: msgRedefine, svc: r.svc}); err != nil {
			r.u.log.Error("redefine for update", "err", err)
		}
	}
	for _, u := range removed {
		if err := u.send(ctx, message{kind: msgQuit}); err != nil {
			u.log.Warn("removed service did not stop", "err", err)
		}
	}
	for _, u := range toStart {
		if !u.service().Autostart {
			continue
		}
		if err := u.send(ctx, message{kind: msgStart}); err != nil && !errors.Is(err, control.ErrAlreadyStarted) {
			u.log.Error("start for update", "err", err)
		}
	}
	if len(p.diff.Added)+len(p.diff.Changed)+len(p.diff.Removed) > 0 {
		s.applies.Add(1)
		s.log.Info("services updated", "added", p.diff.Added, "changed", p.diff.Changed, "removed", p.diff.Removed)
	}
	for _, e := range next.Errors {
		s.log.Error("bad service file", "err", e)
	}
}

// watch applies live changes of the services directory until ctx ends.
func (s *Supervisor) watch(ctx context.Context) {
	err := services.Watch(ctx, s.opts.ServicesDir, s.opts.WatchQuiet, func() {
		if _, err := s.Update(ctx); err != nil && !errors.Is(err, control.ErrShuttingDown) {
			s.log.Error("live update", "err", err)
		}
	})
	if err != nil && ctx.Err() == nil {
		s.log.Error("watching services directory: live updates are off", "dir", s.opts.ServicesDir, "err", fmt.Errorf("watch: %w", err))
	}
}
