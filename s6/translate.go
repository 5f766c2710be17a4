package s6

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/corralhq/corral/s6/execline"
	"github.com/corralhq/corral/services"
)

// Unit is one s6 service as corral runs it. Its Service uses the fields
// made for s6's semantics: Autostart (false for a service s6-overlay does
// not start at boot: outside the top bundle, or a legacy longrun with a
// down file), Finish and FinishTimeout (./finish), StopCommand (a
// oneshot's down), StdoutTo (log/run, producer-for) and ClearEnv (PATH
// only, unless S6_KEEP_ENV).
type Unit struct {
	// Service is the definition in corral's terms.
	Service *services.Service
	// Definition is what the unit was made from.
	Definition *Definition
}

// Options are what Translate needs besides the tree.
type Options struct {
	// Config holds the S6_* variables.
	Config Config
	// Exe is corral's executable; internal steps run it as an applet
	// (Exe --applet NAME ARGS...).
	Exe string
	// Execlineb is the path of execlineb, or "" when it is not installed.
	Execlineb string
	// Layout is where the live directories are (DefaultLayout in images).
	Layout Layout
	// RunNoexec is set when /run is mounted noexec (Docker's --tmpfs
	// default): the live copies cannot be executed, so run and finish are
	// run from their source directory (they must be executable there),
	// still with the live directory as working directory.
	RunNoexec bool
	// LookPath finds a program the way the services will (their PATH); a
	// command that is not found gets a warning. nil skips the check.
	LookPath func(file string) (string, error)
}

// Applet returns the argv that runs corral's applet name.
func (o Options) Applet(name string, args ...string) []string {
	return append([]string{o.Exe, "--applet", name}, args...)
}

// DefaultFinishTimeout is s6's time limit of a finish script.
const DefaultFinishTimeout = 5 * time.Second

// Translate turns the tree into units in dependency order, and returns
// the tree's problems with the ones found while resolving it.
func Translate(t *Tree, o Options) ([]*Unit, []*Problem) {
	probs := problems(append([]*Problem{}, t.Problems...))
	r := t.resolve(o.Config.CmdWaitForServices, &probs)
	auto := r.autostart()
	var units []*Unit
	for _, n := range r.sortedDeps() {
		d := t.Defs[n]
		if d.Kind == Longrun || d.Up != nil {
			// Read here, for what is translated: not for definitions left
			// out, nor for the s6-rc command, which needs only the plan.
			d.Digest = digestDir(d.Dir)
		}
		u := &Unit{Definition: d}
		svc := &services.Service{
			Name:          n,
			Autostart:     auto[n],
			ClearEnv:      !o.Config.KeepEnv,
			File:          d.Dir,
			After:         r.deps[n],
			StopSignal:    syscall.SIGTERM,
			StopTimeout:   services.DefaultStopTimeout,
			ReloadSignal:  syscall.SIGHUP,
			RestartWindow: services.DefaultRestartWindow,
			Backoff: services.Backoff{
				Initial: services.DefaultBackoffInitial, Max: services.DefaultBackoffMax,
				Multiplier: services.DefaultBackoffMult, Reset: services.DefaultBackoffReset,
				Min: services.DefaultBackoffMin,
			},
			Log:           logFor(o.Config),
			FinishTimeout: DefaultFinishTimeout,
		}
		u.Service = svc
		var ok bool
		if d.Kind == Longrun {
			ok = o.longrun(u, &probs)
		} else {
			ok = o.oneshot(u, &probs)
		}
		if !ok {
			r.excluded[n] = probs[len(probs)-1] // recorded by oneshot or longrun
			delete(r.deps, n)
			continue
		}
		if _, has := r.deps[ContFinish]; has && n != ContFinish {
			svc.After = append([]string{ContFinish}, svc.After...)
		}
		units = append(units, u)
	}
	// What comes after legacy-services (user2's services) stops before the
	// /etc/services.d longruns, as s6-overlay stops those in
	// legacy-services' down: it wants them, which orders it after them
	// without requiring them.
	if !o.Config.CmdWaitForServices {
		var legacy []string
		for _, u := range units {
			if d := u.Definition; d.Legacy && d.LoggerOf == "" && u.Service.Autostart {
				legacy = append(legacy, d.Name)
			}
		}
		for _, u := range units {
			if !u.Definition.Legacy && slices.Contains(r.deps[u.Service.Name], LegacyServices) {
				u.Service.Wants = legacy
			}
		}
	}
	// A unit left out above takes its dependents with it (the resolver's
	// own propagation).
	r.propagate()
	units = slices.DeleteFunc(units, func(u *Unit) bool { _, ok := r.deps[u.Service.Name]; return !ok })
	kept := map[string]bool{}
	for _, u := range units {
		kept[u.Service.Name] = true
	}
	for _, u := range units {
		var wants []string
		for _, w := range u.Service.Wants {
			if kept[w] {
				wants = append(wants, w)
			}
		}
		u.Service.Wants = wants
		u.Service.Hash = hashUnit(u)
	}
	return order(units), probs
}

// logFor is where s6 services' output goes under S6_LOGGING.
func logFor(c Config) services.Log {
	return services.Log{
		Prefix:     c.Logging == 1,
		Console:    c.Logging != 2,
		Files:      c.Logging >= 1,
		Timestamps: true,
		MaxSize:    services.DefaultLogMaxSize,
		Keep:       services.DefaultLogKeep,
	}
}

// oneshot fills u for a oneshot: its up command, its down command, and
// for the internal ones corral's applets.
func (o Options) oneshot(u *Unit, probs *problems) bool {
	d, svc := u.Definition, u.Service
	svc.Type = services.Oneshot
	svc.Restart = services.RestartNever
	svc.WorkingDir = "/"
	svc.Env = map[string]string{"RC_NAME": d.Name}
	svc.Timeout = d.TimeoutUp
	switch d.Name {
	case FixAttrs:
		if isDir(d.Dir) {
			svc.Command = o.Applet("s6-fix-attrs", d.Dir)
		}
	case LegacyContInit:
		if isDir(d.Dir) {
			svc.Command = o.Applet("s6-cont-init", d.Dir)
		}
	case LegacyServices:
	case ContFinish:
		svc.StopCommand = o.Applet("s6-cont-finish", d.Dir)
		svc.StopTimeout = 0 // cont-finish.d has no overall limit in s6-overlay
	default:
		var ok bool
		if svc.Command, ok = o.script(d, d.Up, d.UpPath, probs); !ok {
			return false
		}
		if d.Down != nil {
			if svc.StopCommand, ok = o.script(d, d.Down, d.DownPath, probs); !ok {
				return false
			}
		}
		// timeout-down bounds the down script; without it s6-rc waits as
		// long as it takes (0: no limit).
		svc.StopTimeout = d.TimeoutDown
	}
	if svc.Command == nil && svc.Type != services.Oneshot {
		svc.Command = o.Applet("true")
	}
	// A oneshot with nothing to run keeps a nil Command: the engine counts
	// it done at once, with no process, as s6-rc's runner does with an
	// empty command line.
	return true
}

// script returns the argv of an up or down file.
func (o Options) script(d *Definition, s *execline.Script, path string, probs *problems) ([]string, bool) {
	argv, err := s.Command(o.Execlineb)
	if err != nil {
		probs.fatal(path, d.Name, "%v", err)
		return nil, false
	}
	if s.Maybe && o.Execlineb == "" {
		probs.warn(path, d.Name, "run directly although %s: install execline if it needs execline's substitution", s.Reason)
	}
	if len(argv) > 0 && o.LookPath != nil && s.Kind == execline.Direct {
		if _, err := o.LookPath(argv[0]); err != nil {
			probs.warn(path, d.Name, "%s is not installed (yet): the command will fail unless something creates it before it runs", argv[0])
		}
	}
	return argv, true
}

// longrun fills u for a longrun: run from its live directory under /run.
func (o Options) longrun(u *Unit, probs *problems) bool {
	d, svc := u.Definition, u.Service
	svc.Type = services.Longrun
	svc.Restart = services.RestartAlways
	svc.MaxRestarts = 0 // s6 never gives up on a longrun
	name := d.Name
	if d.LoggerOf != "" {
		name = d.LoggerOf + "/log"
	}
	svc.WorkingDir = o.liveDir(d)
	run, finish := "./run", "./finish"
	if o.RunNoexec {
		run, finish = d.Run, d.Finish
		for _, f := range []string{d.Run, d.Finish} {
			if st, err := os.Stat(f); f != "" && (err != nil || st.Mode().Perm()&0o111 == 0) {
				probs.fatal(f, d.Name, "not executable, and /run is mounted noexec so its copy cannot run either (mount /run with exec, e.g. --tmpfs /run:exec, or chmod +x it)")
				return false
			}
		}
	}
	svc.Command = []string{run, name}
	if d.Finish != "" {
		svc.Finish = []string{finish}
		if d.HasTimeoutFinish {
			svc.FinishTimeout = d.TimeoutFinish
		}
	}
	if d.NotificationFD > 0 {
		// s6 never kills a service for not being ready; timeout-up (an
		// s6-rc transition limit) bounds the wait when it is set.
		svc.Ready = &services.Ready{NotifyFD: d.NotificationFD, Timeout: d.TimeoutUp}
	}
	if d.DownSignal != 0 {
		svc.StopSignal = d.DownSignal
	}
	if d.ReloadSignal != 0 {
		svc.ReloadSignal = d.ReloadSignal
	}
	switch {
	case d.TimeoutKill > 0:
		svc.StopTimeout = d.TimeoutKill
	case d.Legacy:
		svc.StopTimeout = o.Config.ServicesGraceTime + o.Config.KillGraceTime
	case d.TimeoutDown > 0:
		svc.StopTimeout = d.TimeoutDown
	}
	if svc.StopTimeout <= 0 {
		svc.StopTimeout = time.Millisecond // S6_*GRACETIME=0: SIGKILL at once
	}
	svc.StdoutTo = d.Logger
	return true
}

// liveDir is where d runs from.
func (o Options) liveDir(d *Definition) string {
	l := o.Layout
	if d.LoggerOf != "" {
		return filepath.Join(l.LegacyLiveDir(d.LoggerOf), "log")
	}
	if d.Legacy {
		return l.LegacyLiveDir(d.Name)
	}
	return l.LiveDir(d.Name)
}

// hashUnit identifies u's definition: two units with equal hashes are the
// same service (services.Compare uses it to tell changed services).
func hashUnit(u *Unit) string {
	c := *u.Service
	c.Hash, c.File = "", ""
	h := sha256.New()
	b, _ := json.Marshal(struct {
		S      services.Service
		Digest string
	}{c, u.Definition.Digest})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// order sorts units in corral's dependency order (services.Order).
func order(units []*Unit) []*Unit {
	byName := map[string]*Unit{}
	svcs := make([]*services.Service, len(units))
	for i, u := range units {
		byName[u.Service.Name] = u
		svcs[i] = u.Service
	}
	out := make([]*Unit, 0, len(units))
	for _, s := range services.Order(svcs) {
		out = append(out, byName[s.Name])
	}
	return out
}
