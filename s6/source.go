package s6

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/corralhq/corral/s6/execline"
)

// knownFiles are the files s6-rc-compile reads, by type; "dir/" marks
// directories. Other entries of a definition are reported.
var knownFiles = map[Kind]map[string]bool{
	Bundle: set("type", "contents.d/", "contents", "flag-essential", "flag-recommended"),
	Oneshot: set("type", "dependencies.d/", "dependencies", "flag-essential", "flag-recommended",
		"timeout-up", "timeout-down", "up", "down", "reload"),
	Longrun: set("type", "dependencies.d/", "dependencies", "flag-essential", "flag-recommended",
		"timeout-up", "timeout-down", "run", "finish", "notification-fd", "lock-fd", "timeout-kill",
		"flag-timeout-killpg", "timeout-finish", "max-death-tally", "down-signal", "reload-signal",
		"flag-newpidns", "producer-for", "consumer-for", "pipeline-name", "data/", "env/",
		"template/", "instance/", "instances/", "down", "log/"),
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// reader reads definitions and collects problems.
type reader struct {
	probs problems
	// provided reports the programs corral provides (its applets).
	provided func(string) bool
	// root is the layout's root, which the paths in up files do not have.
	root string
}

// readSourceDir reads every definition in an s6-rc source directory: each
// subdirectory not starting with '.' is one service named after it. Other
// entries are reported and ignored, as s6-rc-compile ignores them.
func (r *reader) readSourceDir(dir string) []*Definition {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if !os.IsNotExist(err) {
			r.probs.fatal(dir, "", "reading s6-rc source directory: %w", err)
		}
		return nil
	}
	var defs []*Definition
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		if !isDir(path) {
			r.probs.warn(path, "", "not a service definition (a directory), ignored")
			continue
		}
		if d := r.readDefinition(path, name); d != nil {
			defs = append(defs, d)
		}
	}
	return defs
}

// readDefinition reads one s6-rc source definition; nil when it cannot
// be used (the problem is recorded).
func (r *reader) readDefinition(dir, name string) *Definition {
	d := &Definition{Name: name, Dir: dir}
	typ, ok, err := readSmall(filepath.Join(dir, "type"))
	switch {
	case err != nil:
		r.probs.fatal(filepath.Join(dir, "type"), name, "%v", err)
		return nil
	case !ok && (name == "user" || name == "user2"):
		// s6-overlay <= 3.2.1.0 shipped these type files in its tarball;
		// images only add contents.d entries (3.2.3.2 writes the file).
		d.Kind, d.Synthesised = Bundle, true
	case !ok:
		r.probs.fatal(filepath.Join(dir, "type"), name, "missing: every s6-rc definition needs a type file (oneshot, longrun or bundle)")
		return nil
	default:
		switch t := strings.TrimSpace(typ); t {
		case "oneshot":
			d.Kind = Oneshot
		case "longrun":
			d.Kind = Longrun
		case "bundle":
			d.Kind = Bundle
		default:
			r.probs.fatal(filepath.Join(dir, "type"), name, "type %q: must be oneshot, longrun or bundle", firstLine(t))
			return nil
		}
	}
	var good bool
	switch d.Kind {
	case Bundle:
		good = r.readBundle(d)
	case Oneshot:
		good = r.readDeps(d) && r.readOneshot(d)
	case Longrun:
		good = r.readDeps(d) && r.readLongrun(d)
	}
	if !good {
		return nil
	}
	r.checkEntries(d)
	return d
}

// checkEntries reports the entries s6-rc does not know for d's type, and
// the ones corral cannot honour.
func (r *reader) checkEntries(d *Definition) {
	ents, err := os.ReadDir(d.Dir)
	if err != nil {
		return
	}
	known := knownFiles[d.Kind]
	used := map[string]bool{}
	for _, sc := range []*execline.Script{d.Up, d.Down} {
		if sc != nil {
			for _, w := range sc.Argv {
				used[filepath.Clean(strings.TrimSpace(w))] = true
			}
		}
	}
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		p := filepath.Join(d.Dir, n)
		if used[p] || used[filepath.Join(strings.TrimPrefix(d.Dir, r.root), n)] {
			continue // the up or down command runs it (linuxserver's run scripts)
		}
		key := n
		if isDir(p) {
			key = n + "/"
		}
		if !known[key] {
			if other := kindKnowing(key); other != "" {
				r.probs.note(p, d.Name, "only used in a %s definition, and this is a %s: ignored, as s6-rc does", other, d.Kind)
			} else {
				r.probs.note(p, d.Name, "unknown file in an s6-rc %s definition: ignored, as s6-rc does", d.Kind)
			}
			continue
		}
		switch key {
		case "lock-fd":
			r.probs.warn(p, d.Name, "not honoured: corral never runs two instances of a service, and opens no lock descriptor")
		case "flag-newpidns":
			r.probs.warn(p, d.Name, "not honoured: the service runs in the container's PID namespace")
		case "template/", "instance/", "instances/":
			r.probs.warn(p, d.Name, "not honoured: instanced services are not supported (the directory is copied, nothing more)")
		case "reload":
			r.probs.warn(p, d.Name, "not honoured: s6-rc reload is not supported (use `supervisorctl signal` or s6-svc -h)")
		case "down":
			if d.Kind == Longrun {
				r.probs.note(p, d.Name, "ignored, as s6-rc ignores it: a longrun in s6-rc.d is started when its bundle is")
			}
		case "log/":
			r.probs.warn(p, d.Name, "ignored, as s6-rc ignores it: use producer-for/consumer-for")
		}
	}
}

// kindKnowing names the type whose definitions use key, if any.
func kindKnowing(key string) string {
	for _, k := range []Kind{Longrun, Oneshot, Bundle} {
		if knownFiles[k][key] {
			return k.String()
		}
	}
	return ""
}

func (r *reader) readBundle(d *Definition) bool {
	names, ok, err := readNames(filepath.Join(d.Dir, "contents.d"), filepath.Join(d.Dir, "contents"))
	switch {
	case err != nil:
		r.probs.fatal(filepath.Join(d.Dir, "contents.d"), d.Name, "%v", err)
		return false
	case !ok && !d.Synthesised:
		r.probs.fatal(filepath.Join(d.Dir, "contents.d"), d.Name, "missing: a bundle needs contents.d (or contents)")
		return false
	}
	d.Contents = uniq(names)
	return true
}

func (r *reader) readDeps(d *Definition) bool {
	names, _, err := readNames(filepath.Join(d.Dir, "dependencies.d"), filepath.Join(d.Dir, "dependencies"))
	if err != nil {
		r.probs.fatal(filepath.Join(d.Dir, "dependencies.d"), d.Name, "%v", err)
		return false
	}
	d.Deps = uniq(names)
	var ok bool
	if d.TimeoutUp, _, ok = r.millis(d, "timeout-up"); !ok {
		return false
	}
	if d.TimeoutDown, _, ok = r.millis(d, "timeout-down"); !ok {
		return false
	}
	return true
}

// millis reads a timeout file of d; ok is false on a bad file (recorded).
func (r *reader) millis(d *Definition, file string) (v time.Duration, found, ok bool) {
	p := filepath.Join(d.Dir, file)
	v, found, err := readMillis(p)
	if err != nil {
		r.probs.fatal(p, d.Name, "%v", err)
		return 0, found, false
	}
	return v, found, true
}

func (r *reader) readOneshot(d *Definition) bool {
	d.UpPath = filepath.Join(d.Dir, "up")
	up, ok := r.script(d, d.UpPath)
	if !ok {
		return false
	}
	if up == nil {
		r.probs.fatal(d.UpPath, d.Name, "missing: a oneshot needs an up file")
		return false
	}
	d.Up = up
	d.DownPath = filepath.Join(d.Dir, "down")
	if d.Down, ok = r.script(d, d.DownPath); !ok {
		return false
	}
	if d.Down == nil {
		d.DownPath = ""
	}
	return true
}

// script lexes a command file; nil when it does not exist.
func (r *reader) script(d *Definition, path string) (*execline.Script, bool) {
	text, found, err := readSmall(path)
	if err != nil {
		r.probs.fatal(path, d.Name, "%v", err)
		return nil, false
	}
	if !found {
		return nil, true
	}
	s, err := execline.Parse(text, r.provided)
	if err != nil {
		r.probs.fatal(path, d.Name, "%v", err)
		return nil, false
	}
	return &s, true
}

func (r *reader) readLongrun(d *Definition) bool {
	d.Run = filepath.Join(d.Dir, "run")
	if st, err := os.Stat(d.Run); err != nil || !st.Mode().IsRegular() {
		r.probs.fatal(d.Run, d.Name, "missing: a longrun needs a run file")
		return false
	}
	if f := filepath.Join(d.Dir, "finish"); exists(f) {
		d.Finish = f
	}
	return r.readSupervised(d) && r.readPipeline(d)
}

// readSupervised reads the files s6-supervise itself uses, common to
// s6-rc longruns and legacy ones.
func (r *reader) readSupervised(d *Definition) bool {
	p := filepath.Join(d.Dir, "notification-fd")
	fd, _, err := readUint(p)
	if err != nil {
		r.probs.fatal(p, d.Name, "%v", err)
		return false
	}
	if fd > 0 && fd < 3 {
		r.probs.warn(p, d.Name, "descriptor %d is the service's stdout or stderr: readiness is a newline written there, not its output", fd)
	}
	d.NotificationFD = int(fd)
	var ok bool
	if d.TimeoutKill, _, ok = r.millis(d, "timeout-kill"); !ok {
		return false
	}
	if d.TimeoutFinish, d.HasTimeoutFinish, ok = r.millis(d, "timeout-finish"); !ok {
		return false
	}
	for _, f := range []struct {
		file string
		sig  *syscall.Signal
	}{{"down-signal", &d.DownSignal}, {"reload-signal", &d.ReloadSignal}} {
		p := filepath.Join(d.Dir, f.file)
		s, err := readSignal(p)
		if err != nil {
			r.probs.fatal(p, d.Name, "%v", err)
			return false
		}
		*f.sig = s
	}
	return true
}

func (r *reader) readPipeline(d *Definition) bool {
	p := filepath.Join(d.Dir, "producer-for")
	names, _, err := readLines(p)
	if err != nil {
		r.probs.fatal(p, d.Name, "%v", err)
		return false
	}
	switch len(names) {
	case 0:
	case 1:
		d.ProducerFor = names[0]
	default:
		r.probs.fatal(p, d.Name, "names %d services: a producer feeds exactly one consumer", len(names))
		return false
	}
	p = filepath.Join(d.Dir, "consumer-for")
	if d.ConsumerFor, _, err = readLines(p); err != nil {
		r.probs.fatal(p, d.Name, "%v", err)
		return false
	}
	p = filepath.Join(d.Dir, "pipeline-name")
	if names, _, err = readLines(p); err != nil {
		r.probs.fatal(p, d.Name, "%v", err)
		return false
	}
	return true
}

// uniq sorts names and removes duplicates.
func uniq(names []string) []string {
	sort.Strings(names)
	out := names[:0]
	for i, n := range names {
		if i == 0 || n != names[i-1] {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
