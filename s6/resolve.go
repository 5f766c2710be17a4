package s6

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// resolver expands bundles and checks dependencies of a Tree.
type resolver struct {
	t     *Tree
	probs *problems
	// excluded maps a left-out name to the problem that left it out.
	excluded map[string]*Problem
	// deps are the atomic direct dependencies of each usable atomic service.
	deps map[string][]string
}

// resolve computes the atomic dependencies of every atomic definition and
// leaves out what cannot run: undefined or left-out dependencies, producer
// and consumer pairs that do not match, dependency cycles.
func (t *Tree) resolve(waitLegacy bool, probs *problems) *resolver {
	r := &resolver{t: t, probs: probs, excluded: map[string]*Problem{}, deps: map[string][]string{}}
	for _, p := range t.Problems {
		if p.Fatal && p.Service != "" && t.Defs[p.Service] == nil {
			if r.excluded[p.Service] == nil {
				r.excluded[p.Service] = p
			}
		}
	}
	var legacy []string
	for _, n := range t.names() {
		d := t.Defs[n]
		if d.Kind == Bundle {
			continue
		}
		if d.Legacy {
			if waitLegacy {
				r.deps[n] = r.expandAll(d, []string{Base, User})
			} else {
				r.deps[n] = []string{LegacyServices}
			}
			if !d.NormallyDown && d.LoggerOf == "" {
				legacy = append(legacy, n)
			}
			continue
		}
		deps := r.expandAll(d, d.Deps)
		if r.excluded[n] != nil {
			continue
		}
		r.deps[n] = deps
	}
	if waitLegacy {
		// services-up waits for the legacy longruns (S6_CMD_WAIT_FOR_SERVICES);
		// corral leaves out the ones with a down file, which s6 would wait
		// for forever.
		r.deps[LegacyServices] = uniq(append(r.deps[LegacyServices], legacy...))
	}
	r.checkPipelines()
	r.propagate()
	r.breakCycles()
	r.propagate()
	return r
}

// names returns the definition names, sorted.
func (t *Tree) names() []string {
	out := make([]string, 0, len(t.Defs))
	for n := range t.Defs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// exclude leaves name out for reason.
func (r *resolver) exclude(path, name, format string, args ...any) {
	if r.excluded[name] != nil {
		return
	}
	r.probs.fatal(path, name, format, args...)
	r.excluded[name] = (*r.probs)[len(*r.probs)-1]
	delete(r.deps, name)
}

// expandAll expands d's dependency names into atomic services; an
// undefined name leaves d out.
func (r *resolver) expandAll(d *Definition, names []string) []string {
	var out []string
	for _, n := range names {
		atoms, err := r.expand(n, nil)
		if err != nil {
			r.exclude(filepath.Join(d.Dir, "dependencies.d", n), d.Name, "dependency %s", err)
			return nil
		}
		out = append(out, atoms...)
	}
	return uniq(out)
}

// expand returns the atomic services name stands for. Bundle members that
// are undefined or left out are reported once, on the bundle, and skipped.
func (r *resolver) expand(name string, stack []string) ([]string, error) {
	d := r.t.Defs[name]
	if d == nil {
		if p := r.excluded[name]; p != nil {
			return nil, fmt.Errorf("%q is left out (see %s)", name, p.Path)
		}
		return nil, fmt.Errorf("%q is not defined%s", name, r.suggest(name))
	}
	if d.Kind != Bundle {
		return []string{name}, nil
	}
	for _, s := range stack {
		if s == name {
			return nil, fmt.Errorf("bundle cycle %s -> %s", strings.Join(stack, " -> "), name)
		}
	}
	stack = append(stack, name)
	var out []string
	for _, m := range d.Contents {
		atoms, err := r.expand(m, stack)
		if err != nil {
			key := "bundle member " + m
			if r.reported(d.Name, key) {
				continue
			}
			if strings.Contains(err.Error(), "bundle cycle") {
				return nil, err
			}
			r.probs.warn(filepath.Join(d.Dir, "contents.d", m), d.Name, "bundle member %s: skipped", err)
			continue
		}
		out = append(out, atoms...)
	}
	return uniq(out), nil
}

// reported reports whether a warning about key in service was already
// recorded (bundles are expanded many times).
func (r *resolver) reported(service, key string) bool {
	for _, p := range *r.probs {
		if p.Service == service && strings.Contains(p.Err.Error(), key) {
			return true
		}
	}
	return false
}

// suggest proposes the nearest defined name.
func (r *resolver) suggest(name string) string {
	best, bestD := "", 3
	for n := range r.t.Defs {
		if d := distance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// checkPipelines checks producer-for/consumer-for pairs, as
// s6-rc-compile does, and records each producer's consumer.
func (r *resolver) checkPipelines() {
	for _, n := range r.t.names() {
		d := r.t.Defs[n]
		if d.ProducerFor == "" || r.excluded[n] != nil {
			continue
		}
		c := r.t.Defs[d.ProducerFor]
		switch {
		case c == nil || c.Kind != Longrun:
			r.exclude(filepath.Join(d.Dir, "producer-for"), n, "producer for %q, which is not a longrun", d.ProducerFor)
		case !slices.Contains(c.ConsumerFor, n):
			r.exclude(filepath.Join(d.Dir, "producer-for"), n, "producer for %q, whose consumer-for does not name %q", d.ProducerFor, n)
		default:
			d.Logger = d.ProducerFor
		}
	}
	for _, n := range r.t.names() {
		d := r.t.Defs[n]
		for _, p := range d.ConsumerFor {
			pd := r.t.Defs[p]
			if pd == nil || pd.ProducerFor != n {
				r.exclude(filepath.Join(d.Dir, "consumer-for"), n, "consumer for %q, whose producer-for does not name %q", p, n)
				break
			}
		}
	}
}

// propagate leaves out, to a fixed point, what depends on something left out.
func (r *resolver) propagate() {
	for changed := true; changed; {
		changed = false
		for _, n := range r.sortedDeps() {
			for _, dep := range r.deps[n] {
				if _, ok := r.deps[dep]; ok {
					continue
				}
				d := r.t.Defs[n]
				reason := "is left out"
				if p := r.excluded[dep]; p != nil {
					reason = fmt.Sprintf("is left out (see %s)", p.Path)
				}
				r.exclude(d.Dir, n, "%s depends on %q, which %s", n, dep, reason)
				changed = true
				break
			}
		}
	}
}

func (r *resolver) sortedDeps() []string {
	out := make([]string, 0, len(r.deps))
	for n := range r.deps {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// breakCycles leaves out every service in a dependency cycle.
func (r *resolver) breakCycles() {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var cycles [][]string
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		for _, d := range r.deps[n] {
			if _, ok := r.deps[d]; !ok {
				continue
			}
			switch color[d] {
			case white:
				visit(d)
			case grey:
				i := len(stack) - 1
				for stack[i] != d {
					i--
				}
				cycles = append(cycles, append(append([]string{}, stack[i:]...), d))
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, n := range r.sortedDeps() {
		if color[n] == white {
			visit(n)
		}
	}
	for _, c := range cycles {
		for _, n := range c[:len(c)-1] {
			r.exclude(r.t.Defs[n].Dir, n, "dependency cycle %s", strings.Join(c, " -> "))
		}
	}
}

// autostart returns the services s6-overlay brings up at boot: everything
// in top, with the dependencies of each.
func (r *resolver) autostart() map[string]bool {
	top, _ := r.expand(Top, nil)
	on := map[string]bool{}
	var add func(n string)
	add = func(n string) {
		if on[n] {
			return
		}
		if _, ok := r.deps[n]; !ok {
			return
		}
		on[n] = true
		for _, d := range r.deps[n] {
			add(d)
		}
	}
	for _, n := range top {
		add(n)
	}
	for n := range r.deps {
		if d := r.t.Defs[n]; d.Legacy && !d.NormallyDown {
			add(n)
		}
	}
	if _, ok := r.deps[ContFinish]; ok {
		add(ContFinish)
	}
	return on
}
