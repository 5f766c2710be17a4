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
	"sync"
	"sync/atomic"
	"time"

	"github.com/corralhq/corral/control"
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
	// OpenLogSink opens a service's log file sink; nil writes no files.
	OpenLogSink func(svc *services.Service) (output.LineSink, error)
	// LogPath returns the current log file of a service's stream, for
	// `supervisorctl tail`; nil when no files are written.
	LogPath func(service string, stream output.Stream) string
	// Env is the container environment services inherit (default os.Environ()).
	Env []string
	// Hostname is the node's name (default os.Hostname()).
	Hostname string
	// MainStopTimeout bounds the main command's stop at shutdown (default 10s).
	MainStopTimeout time.Duration
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

	// mu guards units, order, set and configErrs.
	mu         sync.Mutex
	units      map[string]*unit
	order      []string // dependency order of units
	set        *services.Set
	configErrs []error
	// applyMu serialises Update (live changes) with shutdown.
	applyMu sync.Mutex
	applies atomic.Uint64

	shuttingDown atomic.Bool
	// stopc receives the exit code that ends Run (first one wins).
	stopc chan int
	// initialized is closed once the first set of services was started;
	// Reread and Update wait for it.
	initialized chan struct{}

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
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("reading host name: %w", err)
		}
		opts.Hostname = h
	}
	if opts.MainStopTimeout <= 0 {
		opts.MainStopTimeout = 10 * time.Second
	}
	if opts.WatchQuiet == 0 {
		opts.WatchQuiet = 100 * time.Millisecond
	}
	return &Supervisor{
		opts:     opts,
		log:      opts.Logger,
		bus:      plugins.NewBus(),
		console:  opts.Console,
		baseEnv:  opts.Env,
		hostname: opts.Hostname,
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

// loadSet reads the services directory and checks plugin services by
// building and provisioning them (without starting them).
func (s *Supervisor) loadSet() (*services.Set, error) {
	set, err := services.Load(s.opts.ServicesDir, services.LoadOptions{
		Env:     s.lookupEnv,
		Plugins: plugins.Names(),
	})
	if err != nil {
		return nil, err
	}
	kept := set.Services[:0]
	bad := map[string]bool{}
	for _, svc := range set.Services {
		if svc.Plugin == "" {
			kept = append(kept, svc)
			continue
		}
		dep := ""
		for _, a := range svc.After {
			if bad[a] {
				dep = a
			}
		}
		if dep != "" {
			bad[svc.Name] = true
			set.Errors = append(set.Errors, fmt.Errorf("%s: after: dependency %q is invalid", svc.File, dep))
			continue
		}
		if _, err := s.newPlugin(svc, &pluginHost{sup: s, name: svc.Name, log: s.log}); err != nil {
			bad[svc.Name] = true
			set.Errors = append(set.Errors, err)
			continue
		}
		kept = append(kept, svc)
	}
	set.Services = kept
	return set, nil
}

func (s *Supervisor) lookupEnv(key string) (string, bool) {
	for i := len(s.baseEnv) - 1; i >= 0; i-- {
		kv := s.baseEnv[i]
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			return kv[len(key)+1:], true
		}
	}
	return "", false
}

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
	return mergeEnv(s.baseEnv, extra)
}

// unit returns the unit named name.
func (s *Supervisor) unit(name string) (*unit, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.units[name]
	return u, ok
}

// waitDeps waits until every service svc comes after is satisfied. It fails
// when one of them goes FATAL or is not defined.
func (s *Supervisor) waitDeps(ctx context.Context, svc *services.Service) error {
	for _, name := range svc.After {
		for {
			d, ok := s.unit(name)
			if !ok {
				return fmt.Errorf("dependency %s is not defined", name)
			}
			_, changed := d.snapshot()
			ok, failed, reason := d.satisfied()
			if ok {
				break
			}
			if failed {
				return fmt.Errorf("dependency %s failed: %s", name, reason)
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// fatal is called when a unit gives up; an essential one ends the container.
func (s *Supervisor) fatal(u *unit) {
	svc := u.service()
	if svc.Essential && !s.shuttingDown.Load() {
		st, _ := u.snapshot()
		s.log.Error("essential service failed: stopping the container", "service", svc.Name, "reason", st.Reason)
		s.requestStop(1)
	}
}

// startAll creates and starts a unit for each service, in dependency order.
func (s *Supervisor) startAll(set *services.Set) {
	s.mu.Lock()
	s.set = set
	s.configErrs = set.Errors
	var created []*unit
	for _, svc := range set.Services {
		u := newUnit(s, svc)
		s.units[svc.Name] = u
		s.order = append(s.order, svc.Name)
		created = append(created, u)
	}
	s.mu.Unlock()
	for _, err := range set.Errors {
		s.log.Error("bad service file skipped", "err", err)
	}
	for _, u := range created {
		if err := u.send(context.Background(), cmdStart, 0); err != nil {
			u.log.Error("start", "err", err)
		}
	}
}

// settled waits until no unit is STARTING (all ready, exited or failed).
func (s *Supervisor) settled(ctx context.Context) error {
	for {
		s.mu.Lock()
		units := make([]*unit, 0, len(s.units))
		for _, u := range s.units {
			units = append(units, u)
		}
		s.mu.Unlock()
		var wait <-chan struct{}
		for _, u := range units {
			st, ch := u.snapshot()
			if st.State == control.Starting {
				wait = ch
				break
			}
		}
		if wait == nil {
			return nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// stopAll stops every unit in reverse dependency order: a service stops
// once everything that comes after it has stopped. Independent services stop
// in parallel; it returns as soon as every process group is gone.
func (s *Supervisor) stopAll(ctx context.Context) {
	s.mu.Lock()
	units := map[string]*unit{}
	for n, u := range s.units {
		units[n] = u
	}
	s.mu.Unlock()
	done := map[string]chan struct{}{}
	for n := range units {
		done[n] = make(chan struct{})
	}
	dependents := map[string][]string{}
	for n, u := range units {
		for _, a := range u.service().After {
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
			if err := u.send(ctx, cmdStop, 0); err != nil && !errors.Is(err, control.ErrNotRunning) {
				u.log.Warn("stop", "err", err)
			}
		}(n, u)
	}
	wg.Wait()
}
