// Package supervisor is corral's engine: the PID-1 duties (signal
// forwarding, exit codes; the one reaper of every child is its internal
// package reaper), the lifecycle of each service (start in dependency order,
// readiness, restart with backoff, ordered stop), the output path of service
// logs (package output, then package logfile), and the host of plugins (whose
// API is package plugins). It implements control/server.Controller.
//
// cmd/corral wires it up:
//
//	s, err := supervisor.New(opts)
//	code := s.Run(ctx, mainArgv)
//	os.Exit(code)
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/internal/execpath"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/services"
	"github.com/corralhq/corral/supervisor/output"
)

// Options configures a Supervisor.
type Options struct {
	// ServicesDir holds the *.toml service files.
	ServicesDir string
	// LogDir is the root of service log files (given to plugins).
	LogDir string
	// Logger receives corral's own messages (default: text to stderr).
	Logger *slog.Logger
	// Console receives service output lines (default: os.Stdout/os.Stderr).
	Console *output.Console
	// Load reads the service definitions, at start and on every reread or
	// update (default: services.Load of ServicesDir with the registered
	// plugins). Whatever it returns, plugin services are then provisioned
	// to check their settings.
	Load func(services.LoadOptions) (*services.Set, error)
	// OpenLogSink opens a service's log file sink; nil writes no files.
	OpenLogSink func(svc *services.Service) (output.LineSink, error)
	// LogPath returns the current log file of a service's stream, for
	// `supervisorctl tail`; nil when no files are written.
	LogPath func(service string, stream output.Stream) string
	// MainEnv is the main command's environment (default: corral's).
	MainEnv []string
	// ExportEnv ("K=V") is added to the environment of every service (even
	// with clear_env) and of the main command: what they need of corral
	// itself, such as CORRAL_SOCKET for supervisorctl and the s6 commands.
	ExportEnv []string
	// MainStopTimeout bounds the main command's stop at shutdown: SIGTERM,
	// then SIGKILL to its process group (default 10s; s6-overlay mode sets
	// it from S6_KILL_GRACETIME).
	MainStopTimeout time.Duration
	// MainAfter, when set, holds the main command back until it is closed
	// (cmd/corral closes it once the control socket listens).
	MainAfter <-chan struct{}
	// MainGate, when set, decides once the services settled (settled false:
	// the WaitServices bound passed first) whether the main command runs;
	// when it does not, corral stops with code (s6-overlay's
	// S6_BEHAVIOUR_IF_STAGE2_FAILS=2).
	MainGate func(settled bool) (code int, run bool)
	// WaitServices bounds the main command's wait for the services to
	// settle (0: no bound). When it passes, the main command starts anyway
	// with an error naming what is not ready, or, with WaitServicesFatal,
	// corral stops with exit code 1.
	WaitServices      time.Duration
	WaitServicesFatal bool

	// ShutdownSignals also start the orderly shutdown, besides SIGTERM and
	// SIGINT (s6-overlay halts on SIGUSR1, SIGUSR2 and SIGPWR), instead of
	// being passed on to the main command.
	ShutdownSignals []syscall.Signal
	// Signals delivers the signals of CaughtSignals, taken by the caller as
	// early as it could (signals sent before Run are queued there). Nil:
	// Run takes them itself.
	Signals <-chan os.Signal
	// WatchQuiet is the quiet period of the live watch of ServicesDir
	// (default 100ms); negative turns the watch off.
	WatchQuiet time.Duration
}

// Supervisor runs the services of a services directory and, optionally, a
// main command whose exit ends the container. It implements Controller.
type Supervisor struct {
	opts     Options
	log      *slog.Logger
	bus      *plugins.Bus
	console  *output.Console
	baseEnv  []string
	hostname string

	// mu guards units, order, set and configErrs: which units exist and
	// the definitions they were last given. Each unit's own state is its
	// actor's.
	mu         sync.Mutex
	units      map[string]*unit
	order      []string // dependency order of units (set.Services)
	set        *services.Set
	configErrs []error
	// loadMu serialises loads of the service definitions.
	loadMu sync.Mutex
	// pipeline holds the pipes between services (StdoutTo).
	pipeline pipelines
	// applyMu serialises Update (live changes) with shutdown.
	applyMu sync.Mutex
	applies atomic.Uint64

	stopping atomic.Bool
	// stopc receives the exit code that ends Run (first one wins).
	stopc chan int
	// initialized is closed once the first set of services was started (or
	// the shutdown began first); Reread and Update wait for it.
	initialized chan struct{}
	initOnce    sync.Once
	// bootMu is held while the first set of services is being started.
	bootMu sync.Mutex

	// mainMu orders starting the main command against stopping it.
	mainMu      sync.Mutex
	mainStarted bool
	mainPgid    int
	// mainPID is the running main command's pid (0 when none), for
	// forwarding signals.
	mainPID atomic.Int64
}

// New returns a Supervisor; it starts nothing until Run.
func New(opts Options) (*Supervisor, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opts.Console == nil {
		opts.Console = output.NewConsole(os.Stdout, os.Stderr)
	}
	if opts.MainStopTimeout <= 0 {
		opts.MainStopTimeout = defaultMainStopTimeout
	}
	hostname, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("reading host name: %w", err)
	}
	if opts.WatchQuiet == 0 {
		opts.WatchQuiet = 100 * time.Millisecond
	}
	return &Supervisor{
		opts:     opts,
		log:      opts.Logger,
		bus:      plugins.NewBus(),
		console:  opts.Console,
		baseEnv:  os.Environ(),
		hostname: hostname,
		units:    map[string]*unit{},
		stopc:    make(chan int, 1),

		initialized: make(chan struct{}),
	}, nil
}

// requestStop ends Run with code, unless a code was already requested.
func (s *Supervisor) requestStop(code int) {
	select {
	case s.stopc <- code:
	default:
	}
}

// loadSet reads the service definitions and checks plugin services by
// building and provisioning them (without starting them).
func (s *Supervisor) loadSet() (*services.Set, error) { return s.load(false) }

// load is loadSet; dryRun asks the loader to write nothing (a reread).
func (s *Supervisor) load(dryRun bool) (*services.Set, error) {
	// One load at a time: the live watch, SIGHUP and supervisorctl may ask
	// together, and a loader (s6-overlay's) writes live directories.
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	lo := services.LoadOptions{Env: s.lookupEnv, Plugins: plugins.Names(), DryRun: dryRun}
	var (
		set *services.Set
		err error
	)
	if s.opts.Load != nil {
		set, err = s.opts.Load(lo)
	} else {
		set, err = services.Load(s.opts.ServicesDir, lo)
	}
	if err != nil {
		return nil, err
	}
	kept := set.Services[:0]
	bad := map[string]bool{}
	for _, svc := range set.Services {
		if dep := firstIn(svc.After, bad); dep != "" {
			// An *Error naming the service: an update keeps it running
			// with its current definition, as it keeps the bad one.
			bad[svc.Name] = true
			set.Errors = append(set.Errors, &services.Error{File: svc.File, Key: "after", Service: svc.Name,
				Err: fmt.Errorf("depends on %q, which is not valid", dep)})
			continue
		}
		if err := canRunAs(svc); err != nil {
			bad[svc.Name] = true
			set.Errors = append(set.Errors, err)
			continue
		}
		if svc.Plugin != "" {
			if _, err := s.newPlugin(svc, &pluginHost{sup: s, name: svc.Name, log: s.log}); err != nil {
				bad[svc.Name] = true
				set.Errors = append(set.Errors, err)
				continue
			}
		}
		kept = append(kept, svc)
	}
	set.Services = kept
	return set, nil
}

// canRunAs checks that corral may start svc as its user and group: only
// root can switch to another user (docker run --user 1000 runs corral as
// uid 1000).
func canRunAs(svc *services.Service) error {
	c := svc.Credential
	euid, egid := os.Geteuid(), os.Getegid()
	if c == nil || euid == 0 || (int(c.UID) == euid && int(c.GID) == egid) {
		return nil
	}
	key := "user"
	if svc.User == "" {
		key = "group"
	}
	return &services.Error{File: svc.File, Key: key, Service: svc.Name,
		Err: fmt.Errorf("corral runs as uid %d (not root) and cannot run a service as uid %d gid %d: remove %s, or run the container as root", euid, c.UID, c.GID, key)}
}

// firstIn returns the first of names that is in set, or "".
func firstIn(names []string, set map[string]bool) string {
	for _, n := range names {
		if set[n] {
			return n
		}
	}
	return ""
}

// lookupEnv reads the container environment services inherit.
func (s *Supervisor) lookupEnv(key string) (string, bool) { return execpath.LookupEnv(s.baseEnv, key) }

// serviceEnv is the environment of svc's processes.
func (s *Supervisor) serviceEnv(svc *services.Service) []string {
	extra := map[string]string{}
	for k, v := range svc.Env {
		extra[k] = v
	}
	if c := svc.Credential; c != nil && svc.User != "" {
		if _, set := extra["HOME"]; !set && c.Home != "" {
			extra["HOME"] = c.Home
		}
		if _, set := extra["USER"]; !set {
			extra["USER"] = svc.User
			extra["LOGNAME"] = svc.User
		}
	}
	base := s.baseEnv
	if svc.ClearEnv {
		base = nil
		if v, ok := s.lookupEnv("PATH"); ok {
			base = []string{"PATH=" + v}
		}
	}
	if len(s.opts.ExportEnv) > 0 {
		base = append(append([]string(nil), base...), s.opts.ExportEnv...)
	}
	return mergeEnv(base, extra)
}

// unit returns the unit named name.
func (s *Supervisor) unit(name string) (*unit, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.units[name]
	return u, ok
}

// allUnits returns the units in dependency order.
func (s *Supervisor) allUnits() []*unit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*unit, 0, len(s.order))
	for _, n := range s.order {
		if u, ok := s.units[n]; ok {
			out = append(out, u)
		}
	}
	return out
}

// waitingNote is how often a service (or the main command) waiting for
// others says what it waits for.
const waitingNote = 5 * time.Second

// waitDeps waits until every service svc comes after is satisfied and every
// one it wants is settled. It fails when one it comes after goes FATAL or
// exits for good, or is not defined. Every waitingNote it logs what it
// still waits for.
func (s *Supervisor) waitDeps(ctx context.Context, svc *services.Service) error {
	began := time.Now()
	note := time.NewTicker(waitingNote)
	defer note.Stop()
	for {
		var (
			waitFor []string
			wake    []<-chan struct{}
		)
		for _, name := range svc.After {
			d, ok := s.unit(name)
			if !ok {
				return fmt.Errorf("dependency %s is not defined", name)
			}
			_, changed := d.snapshot()
			ok, failed, _, reason := d.satisfied()
			if failed {
				return fmt.Errorf("dependency %s failed: %s", name, reason)
			}
			if !ok {
				waitFor = append(waitFor, name)
				wake = append(wake, changed)
			}
		}
		for _, name := range svc.Ordering()[len(svc.After):] {
			d, ok := s.unit(name)
			if !ok {
				continue // a wanted service that is not defined is not waited for
			}
			_, changed := d.snapshot()
			if _, _, settled, _ := d.satisfied(); !settled {
				waitFor = append(waitFor, name)
				wake = append(wake, changed)
			}
		}
		if len(waitFor) == 0 {
			return nil
		}
		// Wake on a change of any of them (a later one may fail first),
		// on the note's tick, or when ctx ends.
		cases := make([]reflect.SelectCase, 0, len(wake)+2)
		for _, w := range wake {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w)})
		}
		cases = append(cases,
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(note.C)},
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
		switch i, _, _ := reflect.Select(cases); i {
		case len(wake):
			s.log.Info("waiting", "service", svc.Name, "for", strings.Join(waitFor, ", "), "since", time.Since(began).Round(time.Second))
		case len(wake) + 1:
			return ctx.Err()
		}
	}
}

// shuttingDown reports whether the shutdown has begun.
func (s *Supervisor) shuttingDown() bool { return s.stopping.Load() }

// gaveUp is called when a unit gives up; an essential one ends the container.
func (s *Supervisor) gaveUp(svc *services.Service, reason string) {
	if svc.Essential && !s.stopping.Load() {
		s.log.Error("essential service failed: stopping the container", "service", svc.Name, "reason", reason)
		s.requestStop(1)
	}
}

// startAll creates a unit for each service and starts those that start
// by themselves, in dependency order.
func (s *Supervisor) startAll(set *services.Set) {
	s.mu.Lock()
	s.set = set
	s.configErrs = set.Errors
	var created []*unit
	for _, svc := range set.Services {
		u := newUnit(s, s.log, svc)
		s.units[svc.Name] = u
		s.order = append(s.order, svc.Name)
		created = append(created, u)
	}
	s.mu.Unlock()
	for _, err := range set.Errors {
		s.log.Error("bad service file skipped", "err", err)
	}
	for _, u := range created {
		if !u.service().Autostart {
			continue
		}
		if err := u.send(context.Background(), message{kind: msgStart}); err != nil {
			u.log.Error("start", "err", err)
		}
	}
}

// settled waits until no unit is STARTING (all ready, exited or failed),
// logging what it waits for every waitingNote.
func (s *Supervisor) settled(ctx context.Context) error {
	began := time.Now()
	note := time.NewTicker(waitingNote)
	defer note.Stop()
	for {
		waiting, wake := s.starting()
		if wake == nil {
			return nil
		}
		select {
		case <-wake:
		case <-note.C:
			s.log.Info("main command waiting for services", "for", strings.Join(waiting, ", "), "since", time.Since(began).Round(time.Second))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// stopUnits stops the named units in reverse dependency order: a service
// stops once everything ordered after it (among those being stopped) has
// stopped. Independent services stop in parallel; it returns as soon as
// every process group is gone. It is the one stop ordering, for shutdown
// and for updates.
func (s *Supervisor) stopUnits(ctx context.Context, names []string) {
	units := map[string]*unit{}
	for _, n := range names {
		if u, ok := s.unit(n); ok {
			units[n] = u
		}
	}
	done := map[string]chan struct{}{}
	for n := range units {
		done[n] = make(chan struct{})
	}
	dependents := map[string][]string{}
	for n, u := range units {
		for _, a := range u.service().Ordering() {
			if _, ok := units[a]; ok {
				dependents[a] = append(dependents[a], n)
			}
		}
	}
	var wg sync.WaitGroup
	for n, u := range units {
		wg.Add(1)
		go func(n string, u *unit) {
			defer wg.Done()
			defer close(done[n])
			for _, d := range dependents[n] {
				<-done[d]
			}
			m := message{kind: msgStop}
			if s.drainable(n) {
				// A logger whose writers are all gone reads on to the end
				// of file, then exits by itself (s6's loggers drain);
				// stop_timeout bounds the wait before its stop_signal.
				s.pipeline.release(n)
				m.grace = u.service().StopTimeout
			}
			if err := u.send(ctx, m); err != nil && !errors.Is(err, control.ErrNotRunning) {
				u.log.Warn("stop", "err", err)
			}
		}(n, u)
	}
	wg.Wait()
}
