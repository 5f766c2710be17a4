package services

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Set is the result of loading a services directory.
type Set struct {
	// Dir is the directory the set was loaded from.
	Dir string
	// Services are the valid services in dependency order: each comes after
	// everything in its After; ties are broken by name.
	Services []*Service
	// Errors has one *Error per bad file or service (sorted by file, then
	// line); those services are left out of Services.
	Errors []error
}

// Get returns the service called name, or nil.
func (s *Set) Get(name string) *Service {
	if s == nil {
		return nil
	}
	for _, svc := range s.Services {
		if svc.Name == name {
			return svc
		}
	}
	return nil
}

// Reverse returns the services in stop order: dependents before what they
// come after.
func (s *Set) Reverse() []*Service {
	if s == nil {
		return nil
	}
	out := slices.Clone(s.Services)
	slices.Reverse(out)
	return out
}

// Dependents returns the names of the services that come after name,
// directly or through others, in dependency order.
func (s *Set) Dependents(name string) []string {
	if s == nil {
		return nil
	}
	hit := map[string]bool{name: true}
	var out []string
	// Services is in dependency order, so one pass sees every dependency
	// before its dependents.
	for _, svc := range s.Services {
		if svc.Name == name {
			continue
		}
		for _, a := range svc.After {
			if hit[a] {
				hit[svc.Name] = true
				out = append(out, svc.Name)
				break
			}
		}
	}
	return out
}

// Load reads every service file in dir: files ending in ".toml" that are not
// dotfiles (symlinks are followed; directories are skipped). A bad file is
// reported in Set.Errors and left out, as is a service whose After names an
// unknown or bad service, or that is in a dependency cycle; the good ones
// load. The error is non-nil only when dir exists but cannot be read; a
// missing dir is an empty set.
func Load(dir string, opts LoadOptions) (*Set, error) {
	set := &Set{Dir: dir}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return set, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading services dir: %w", err)
	}
	var parsed []*Service
	l := linker{lines: map[*Service]keyLines{}, known: map[string]bool{}}
	for _, n := range opts.Known {
		l.known[n] = true
	}
	bad := map[string]string{} // service name -> file, for bad services
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".toml") {
			continue
		}
		path := filepath.Join(dir, name)
		st, err := os.Stat(path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // a dangling symlink, or removed meanwhile
			}
			set.Errors = append(set.Errors, &Error{File: path, Service: nameFromPath(path), Err: err})
			bad[nameFromPath(path)] = path
			continue
		}
		if st.IsDir() {
			continue
		}
		if !st.Mode().IsRegular() {
			set.Errors = append(set.Errors, &Error{File: path, Service: nameFromPath(path),
				Err: errors.New("not a regular file")})
			bad[nameFromPath(path)] = path
			continue
		}
		if st.Size() > MaxFileSize {
			set.Errors = append(set.Errors, fileTooBig(st.Size()).asError(path, nameFromPath(path)))
			bad[nameFromPath(path)] = path
			continue
		}
		data, err := readBounded(path)
		if err != nil {
			set.Errors = append(set.Errors, &Error{File: path, Service: nameFromPath(path), Err: err})
			bad[nameFromPath(path)] = path
			continue
		}
		svc, lines, err := parse(path, data, opts)
		if err != nil {
			set.Errors = append(set.Errors, err)
			var e *Error
			if errors.As(err, &e) && e.Service != "" {
				bad[e.Service] = path
			}
			continue
		}
		parsed = append(parsed, svc)
		l.lines[svc] = lines
	}
	good, errs := l.link(parsed, bad)
	set.Errors = append(set.Errors, errs...)
	set.Services = Order(good)
	sort.SliceStable(set.Errors, func(i, j int) bool {
		a, b := asError(set.Errors[i]), asError(set.Errors[j])
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line)) < 0
	})
	return set, nil
}

// asError returns err's *Error, or one wrapping it.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Err: err}
}

// afterError is an error about the after list of service s.
func (l linker) afterError(s *Service, format string, args ...any) *Error {
	return &Error{File: s.File, Line: l.lines[s].line([]string{"after"}), Key: "after", Service: s.Name, Err: fmt.Errorf(format, args...)}
}

// keyError is an error about key of service s.
func (l linker) keyError(s *Service, key string, format string, args ...any) *Error {
	return &Error{File: s.File, Line: l.lines[s].line([]string{key}), Key: key, Service: s.Name, Err: fmt.Errorf(format, args...)}
}

// unknownName returns the first name s refers to (in after, wants or
// stdout_to) that is neither a service nor a bad one, with its key.
func (l linker) unknownName(s *Service, alive map[string]*Service, bad map[string]string) (key, name string) {
	known := func(n string) bool { return alive[n] != nil || bad[n] != "" || l.known[n] }
	for _, a := range s.After {
		if !known(a) {
			return "after", a
		}
	}
	for _, w := range s.Wants {
		if !known(w) {
			return "wants", w
		}
	}
	if s.StdoutTo != "" && !known(s.StdoutTo) {
		return "stdout_to", s.StdoutTo
	}
	return "", ""
}

// linker holds the key lines of each parsed service, and the names of
// services defined elsewhere (LoadOptions.Known).
type linker struct {
	lines map[*Service]keyLines
	known map[string]bool
}

// link checks names across files: duplicates, after naming unknown or bad
// services, and cycles. It returns the services that are fine and an error
// for each one left out. bad maps names of bad services to their files.
func (l linker) link(parsed []*Service, bad map[string]string) ([]*Service, []error) {
	var errs []error
	byName := map[string][]*Service{}
	for _, s := range parsed {
		byName[s.Name] = append(byName[s.Name], s)
	}
	for name, ss := range byName {
		if len(ss) < 2 {
			continue
		}
		files := make([]string, len(ss))
		for i, s := range ss {
			files[i] = s.File
		}
		sort.Strings(files)
		for _, s := range ss {
			var others []string
			for _, f := range files {
				if f != s.File {
					others = append(others, f)
				}
			}
			nameLine := l.lines[s]["name"]
			errs = append(errs, &Error{File: s.File, Line: nameLine, Key: keyIf(nameLine > 0, "name"), Service: name,
				Err: fmt.Errorf("duplicate service name %q: also defined in %s", name, strings.Join(others, ", "))})
		}
		delete(byName, name)
		bad[name] = strings.Join(files, ", ")
	}
	alive := map[string]*Service{}
	for name, ss := range byName {
		alive[name] = ss[0]
	}
	var all []string
	for n := range alive {
		all = append(all, n)
	}
	for n := range bad {
		all = append(all, n)
	}

	// Unknown names, then bad dependencies, to a fixed point. A service
	// that only wants (or pipes to) a bad one still runs without it.
	for _, s := range sortedServices(alive) {
		if key, a := l.unknownName(s, alive, bad); a != "" {
			errs = append(errs, l.keyError(s, key, "unknown service %q%s", a, didYouMean(a, all)))
			delete(alive, s.Name)
			bad[s.Name] = s.File
		}
	}
	for changed := true; changed; {
		changed = false
		for _, s := range sortedServices(alive) {
			for _, a := range s.After {
				if f := bad[a]; f != "" && alive[a] == nil {
					errs = append(errs, l.afterError(s, "depends on %q, which is not valid (see %s)", a, f))
					delete(alive, s.Name)
					bad[s.Name] = s.File
					changed = true
					break
				}
			}
		}
	}

	// Cycles: every service in one is left out, then its dependents.
	for _, cycle := range findCycles(alive) {
		for i, s := range cycle {
			path := make([]string, 0, len(cycle)+1)
			for j := range cycle {
				path = append(path, cycle[(i+j)%len(cycle)].Name)
			}
			path = append(path, s.Name)
			files := make([]string, len(cycle))
			for j := range cycle {
				files[j] = cycle[(i+j)%len(cycle)].File
			}
			errs = append(errs, l.afterError(s, "dependency cycle %s (files %s)", strings.Join(path, " -> "), strings.Join(files, ", ")))
		}
		for _, s := range cycle {
			delete(alive, s.Name)
			bad[s.Name] = s.File
		}
	}
	for changed := true; changed; {
		changed = false
		for _, s := range sortedServices(alive) {
			for _, a := range s.After {
				if alive[a] == nil && !l.known[a] {
					errs = append(errs, l.afterError(s, "depends on %q, which is not valid (see %s)", a, bad[a]))
					delete(alive, s.Name)
					bad[s.Name] = s.File
					changed = true
					break
				}
			}
		}
	}
	return sortedServices(alive), errs
}

func keyIf(ok bool, k string) string {
	if ok {
		return k
	}
	return ""
}

// sortedServices returns m's services sorted by name.
func sortedServices(m map[string]*Service) []*Service {
	out := make([]*Service, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// findCycles returns one cycle for each strongly connected component of
// more than one service (Tarjan), each starting at its smallest name and
// following after edges.
func findCycles(alive map[string]*Service) [][]*Service {
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var comps [][]string
	n := 0
	var visit func(v string)
	visit = func(v string) {
		index[v], low[v] = n, n
		n++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range alive[v].Ordering() {
			if alive[w] == nil {
				continue
			}
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) > 1 {
				comps = append(comps, comp)
			}
		}
	}
	for _, s := range sortedServices(alive) {
		if _, seen := index[s.Name]; !seen {
			visit(s.Name)
		}
	}
	var cycles [][]*Service
	for _, comp := range comps {
		in := map[string]bool{}
		for _, c := range comp {
			in[c] = true
		}
		start := slices.Min(comp)
		// Shortest path back to start inside the component (BFS).
		prev := map[string]string{}
		queue := []string{start}
		var last string
	bfs:
		for len(queue) > 0 {
			v := queue[0]
			queue = queue[1:]
			after := slices.Sorted(slices.Values(alive[v].Ordering()))
			for _, w := range after {
				if !in[w] {
					continue
				}
				if w == start {
					last = v
					break bfs
				}
				if _, ok := prev[w]; !ok {
					prev[w] = v
					queue = append(queue, w)
				}
			}
		}
		var path []*Service
		for v := last; v != start; v = prev[v] {
			path = append(path, alive[v])
		}
		path = append(path, alive[start])
		slices.Reverse(path)
		// path follows "comes after" edges: start is after path[1], and so on.
		cycles = append(cycles, path)
	}
	sort.Slice(cycles, func(i, j int) bool { return cycles[i][0].Name < cycles[j][0].Name })
	return cycles
}

// Order sorts acyclic services so each comes after everything it orders
// after (Service.Ordering) among svcs, breaking ties by name (Kahn's
// algorithm, always taking the smallest name). Names not in svcs are
// ignored. It is the one dependency order of corral: Load's, and the
// engine's when it adds kept services to a new set.
func Order(svcs []*Service) []*Service {
	byName := map[string]*Service{}
	for _, s := range svcs {
		byName[s.Name] = s
	}
	waiting := map[string]int{}
	dependents := map[string][]string{}
	for _, s := range svcs {
		for _, a := range s.Ordering() {
			if byName[a] != nil {
				waiting[s.Name]++
				dependents[a] = append(dependents[a], s.Name)
			}
		}
	}
	var ready []string
	for _, s := range svcs {
		if waiting[s.Name] == 0 {
			ready = append(ready, s.Name)
		}
	}
	out := make([]*Service, 0, len(svcs))
	for len(ready) > 0 {
		sort.Strings(ready)
		n := ready[0]
		ready = ready[1:]
		out = append(out, byName[n])
		for _, d := range dependents[n] {
			waiting[d]--
			if waiting[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	return out
}
