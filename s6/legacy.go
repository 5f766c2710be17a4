package s6

import (
	"os"
	"path/filepath"
	"strings"
)

// legacyFiles are the entries s6-supervise knows in a service directory
// ("dir/" marks directories).
var legacyFiles = set("run", "finish", "down", "notification-fd", "lock-fd", "timeout-kill",
	"timeout-finish", "max-death-tally", "down-signal", "flag-newpidns", "nosetsid", "data/",
	"env/", "log/", "supervise/", "event/", "template/", "instance/", "instances/")

// LoggerSuffix is added to a legacy longrun's name to name its log/ logger
// ("/run/service/app/log" is the service "app-log").
const LoggerSuffix = "-log"

// readServicesDir reads the legacy longruns of dir (/etc/services.d): each
// subdirectory is one, with its log/ logger if it has one. *.toml files are
// corral's own service files and are left to the services package; other
// files are reported. A directory that is not a service directory (no run
// file) is an error.
func (r *reader) readServicesDir(dir string) []*Definition {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if !os.IsNotExist(err) {
			r.probs.fatal(dir, "", "reading the services directory: %w", err)
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
			if !strings.HasSuffix(name, ".toml") {
				r.probs.warn(path, "", "neither a corral service file (*.toml) nor an s6 service directory: ignored")
			}
			continue
		}
		defs = append(defs, r.readLegacy(path, name)...)
	}
	return defs
}

// readLegacy reads one legacy service directory and its logger.
func (r *reader) readLegacy(dir, name string) []*Definition {
	d := &Definition{Name: name, Dir: dir, Kind: Longrun, Legacy: true}
	d.Run = filepath.Join(dir, "run")
	if st, err := os.Stat(d.Run); err != nil || !st.Mode().IsRegular() {
		r.probs.fatal(dir, name, "not a service directory: it has no run file")
		return nil
	}
	r.checkLegacyEntries(d)
	if f := filepath.Join(dir, "finish"); exists(f) {
		d.Finish = f
	}
	d.NormallyDown = exists(filepath.Join(dir, "down"))
	if !r.readSupervised(d) {
		return nil
	}
	defs := []*Definition{d}
	logDir := filepath.Join(dir, "log")
	if !isDir(logDir) {
		return defs
	}
	lg := &Definition{Name: name + LoggerSuffix, Dir: logDir, Kind: Longrun, Legacy: true, LoggerOf: name}
	lg.Run = filepath.Join(logDir, "run")
	if st, err := os.Stat(lg.Run); err != nil || !st.Mode().IsRegular() {
		r.probs.fatal(logDir, lg.Name, "a logger directory needs a run file: %s's output goes to the console instead", name)
		return defs
	}
	r.checkLegacyEntries(lg)
	if f := filepath.Join(logDir, "finish"); exists(f) {
		lg.Finish = f
	}
	lg.NormallyDown = exists(filepath.Join(logDir, "down"))
	if !r.readSupervised(lg) {
		return defs
	}
	d.Logger = lg.Name
	return append(defs, lg)
}

// checkLegacyEntries reports what s6-supervise would not use in d's
// directory, and what corral cannot honour.
func (r *reader) checkLegacyEntries(d *Definition) {
	ents, err := os.ReadDir(d.Dir)
	if err != nil {
		return
	}
	logger := d.LoggerOf != ""
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		p := filepath.Join(d.Dir, n)
		key := n
		if isDir(p) {
			key = n + "/"
		}
		switch {
		case key == "log/" && logger:
			r.probs.warn(p, d.Name, "a logger's own log/ is not used: ignored")
		case !legacyFiles[key]:
			r.probs.warn(p, d.Name, "unknown file in a service directory: ignored")
		case key == "lock-fd":
			r.probs.warn(p, d.Name, "not honoured: corral never runs two instances of a service, and opens no lock descriptor")
		case key == "flag-newpidns":
			r.probs.warn(p, d.Name, "not honoured: the service runs in the container's PID namespace")
		case key == "template/" || key == "instance/" || key == "instances/":
			r.probs.warn(p, d.Name, "not honoured: instanced services are not supported (the directory is copied, nothing more)")
		}
	}
}
