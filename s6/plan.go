package s6

import (
	"fmt"

	"github.com/corralhq/corral/services"
)

// Plan returns, for s6-rc's `change`, the atomic services to act on: with
// up, the named services (bundles expanded) and everything they depend on,
// dependencies first; without, the named services and everything that
// depends on them, dependents first.
func Plan(t *Tree, cfg Config, names []string, up bool) ([]string, error) {
	var probs problems
	r := t.resolve(cfg.CmdWaitForServices, &probs)
	var start []string
	for _, n := range names {
		atoms, err := r.expand(n, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		start = append(start, atoms...)
	}
	want := map[string]bool{}
	if up {
		var add func(n string)
		add = func(n string) {
			if want[n] {
				return
			}
			want[n] = true
			for _, d := range r.deps[n] {
				add(d)
			}
		}
		for _, n := range start {
			add(n)
		}
	} else {
		for _, n := range start {
			want[n] = true
		}
		for changed := true; changed; {
			changed = false
			for n, deps := range r.deps {
				if want[n] {
					continue
				}
				for _, d := range deps {
					if want[d] {
						want[n], changed = true, true
						break
					}
				}
			}
		}
	}
	// Dependency order over the wanted services.
	var units []*Unit
	for n := range want {
		if _, ok := r.deps[n]; !ok {
			continue
		}
		units = append(units, &Unit{Service: &services.Service{Name: n, After: r.deps[n]}})
	}
	var out []string
	for _, u := range order(units) {
		out = append(out, u.Service.Name)
	}
	if !up {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}
