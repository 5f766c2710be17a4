package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sort"

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

// planUpdate reads the services directory and compares it with what runs.
func (s *Supervisor) planUpdate() (*updatePlan, error) {
	next, err := s.loadSet()
	if err != nil {
		return nil, err
	}
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
	return p, nil
}

// Reread says what Update would change, changing nothing.
func (s *Supervisor) Reread() (control.ConfigDiff, error) {
	<-s.initialized
	p, err := s.planUpdate()
	if err != nil {
		return control.ConfigDiff{}, err
	}
	return p.diff, nil
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
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.shuttingDown.Load() {
		return control.ConfigDiff{}, control.ErrShuttingDown
	}
	p, err := s.planUpdate()
	if err != nil {
		return control.ConfigDiff{}, err
	}
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
			u.mu.Lock()
			u.st.ConfigError = e.Error()
			u.mu.Unlock()
			u.log.Error("service file is invalid: keeping the running definition", "err", e)
		}
	}
	sortByDependency(next)

	// Restart the changed services and, transitively, what depends on them.
	restart := map[string]bool{}
	for _, n := range p.diff.Changed {
		restart[n] = true
		for _, d := range next.Dependents(n) {
			restart[d] = true
		}
	}
	for _, n := range p.diff.Removed {
		restart[n] = true // stopped, then dropped below
	}
	// Stop in reverse dependency order of the running set.
	for i := len(s.order) - 1; i >= 0; i-- {
		n := s.order[i]
		if !restart[n] {
			continue
		}
		if u, ok := s.unit(n); ok {
			if err := u.send(ctx, cmdStop, 0); err != nil && !errors.Is(err, control.ErrNotRunning) {
				u.log.Warn("stop for update", "err", err)
			}
		}
	}
	s.mu.Lock()
	var removed []*unit
	for _, n := range p.diff.Removed {
		if u, ok := s.units[n]; ok {
			removed = append(removed, u)
			delete(s.units, n)
		}
	}
	var toStart []*unit
	s.order = s.order[:0]
	for _, svc := range next.Services {
		s.order = append(s.order, svc.Name)
		u, ok := s.units[svc.Name]
		switch {
		case !ok:
			u = newUnit(s, svc)
			s.units[svc.Name] = u
			toStart = append(toStart, u)
		case restart[svc.Name]:
			if _, kept := p.kept[svc.Name]; !kept {
				u.closeSinks()
				u.mu.Lock()
				u.svc = svc
				u.st.ConfigError = ""
				u.mu.Unlock()
				u.openSinks()
			}
			toStart = append(toStart, u)
		default:
			if _, kept := p.kept[svc.Name]; !kept {
				u.mu.Lock()
				u.svc = svc // same definition; refresh the file name and hash
				u.st.ConfigError = ""
				u.mu.Unlock()
			}
		}
	}
	s.set = next
	s.configErrs = next.Errors
	s.mu.Unlock()
	for _, u := range removed {
		u.closeSinks()
		if err := u.send(ctx, cmdQuit, 0); err != nil {
			u.log.Warn("removed service did not stop", "err", err)
		}
	}
	for _, u := range toStart {
		if err := u.send(ctx, cmdStart, 0); err != nil && !errors.Is(err, control.ErrAlreadyStarted) {
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

// sortByDependency puts a set whose services were appended back in
// dependency order (each service after those it comes after), by name
// among equals.
func sortByDependency(set *services.Set) {
	byName := map[string]*services.Service{}
	names := make([]string, 0, len(set.Services))
	for _, svc := range set.Services {
		byName[svc.Name] = svc
		names = append(names, svc.Name)
	}
	sort.Strings(names)
	var out []*services.Service
	seen := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		svc, ok := byName[n]
		if !ok {
			return
		}
		for _, a := range svc.After {
			visit(a)
		}
		out = append(out, svc)
	}
	for _, n := range names {
		visit(n)
	}
	set.Services = out
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
