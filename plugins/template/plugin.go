// Package template is corral's regenerate-and-reload plugin: it watches
// cluster membership on the bus, waits for quiet, renders a Go text/template
// from the alive members, and when the bytes change, checks the staged file,
// swaps it in atomically and reloads the target service (or, for HAProxy,
// adds and deletes the backend's servers through the runtime API without a
// reload).
//
// The pipeline is one file per stage: watch.go (events), wait.go (quiet
// timer), render.go and data.go (template data), apply.go (a pass),
// write.go (stage, check, backup, rename), reload.go with haproxy.go
// (reloads), and for runtime mode servers.go (the backend's server lines),
// runtime.go (runtime API commands) and runtimepass.go (its pass).
package template

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/corralhq/corral/plugins"
)

// Name is the name service files use: plugin = "template".
const Name = "template"

func init() {
	plugins.Register(Name, func() plugins.Plugin { return New() })
}

// Plugin is one instance of the template plugin. Its Config is decoded
// from the service file's [template] table.
type Plugin struct {
	Config

	host plugins.Host
	log  *slog.Logger

	wake     chan struct{} // a new event or a forced render
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	mu        sync.Mutex
	tmpl      *texttemplate.Template
	alive     []plugins.Member // latest alive list
	haveEvent bool
	started   bool // Start launched the run loop
	force     bool // render and reload even if the bytes did not change
	st        stats

	// Owned by the run loop.
	pendingReload bool              // a reload failed after the file was installed
	masterPending unconfirmedReload // a master reload sent but not confirmed
	lastRejected  string
	// skipLogged holds the members whose role mismatch was logged (once each).
	skipLogged map[string]bool
	// Runtime mode: HAProxy's servers in the backend (nil: unknown), and
	// the rest of the configuration it runs (runningOK: known).
	live        liveServers
	running     []byte
	runningOK   bool
	runningRead bool // running was initialised from the installed file
	recheck     bool // HAProxy was not running: compare its servers again soon
	absent      bool // HAProxy was not running at the last look
}

// New returns a template plugin, ready to decode its table into.
func New() *Plugin {
	return &Plugin{
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
}

// Provision expands ${VAR} in the settings that take it, applies defaults
// and validates the settings (no I/O). Its errors carry no plugin name: the
// engine reports them with the service file and the [template] key.
func (p *Plugin) Provision(host plugins.Host) error {
	p.host = host
	p.log = host.Logger()
	if err := p.expand(host.LookupEnv); err != nil {
		return err
	}
	p.applyDefaults()
	return p.validate()
}

// Start reads and parses the template and starts the render loop. Renders
// start with the first membership event (the bus replays the last one).
func (p *Plugin) Start(ctx context.Context) error {
	if p.host == nil {
		return errors.New("template: not provisioned")
	}
	t, err := loadTemplate(p.Source, p.host.LookupEnv)
	if err != nil {
		return fmt.Errorf("template: %w", err)
	}
	p.mu.Lock()
	p.tmpl = t
	p.started = true
	p.mu.Unlock()
	if _, err := os.Stat(p.Destination); errors.Is(err, fs.ErrNotExist) {
		// No file yet (an image with a tmpfs over its directory): write the
		// one with no member now, so that the service it feeds, started
		// after this plugin, finds a config; members follow as they come.
		p.mu.Lock()
		p.haveEvent = true
		p.mu.Unlock()
		p.apply(ctx)
	}
	p.host.Go(func(ctx context.Context) error {
		defer close(p.done)
		p.run(ctx)
		return nil
	})
	p.log.Info("template: started", "source", p.Source, "destination", p.Destination,
		"reload", p.Mode.String(), "wait_min", p.WaitMin, "wait_max", p.WaitMax)
	return nil
}

// Reload re-reads the template and renders again, reloading the service
// even if the bytes did not change. A template that does not parse is an
// error and the old one stays in use.
func (p *Plugin) Reload(ctx context.Context) error {
	t, err := loadTemplate(p.Source, p.host.LookupEnv)
	if err != nil {
		err = fmt.Errorf("template: %w", err)
		p.setError(err)
		return err
	}
	p.mu.Lock()
	p.tmpl = t
	p.force = true
	p.mu.Unlock()
	p.notify()
	return nil
}

// Stop ends the render loop, waiting for a render in progress until ctx's
// deadline. It is safe to call twice.
func (p *Plugin) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stop) })
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !started {
		return nil
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("template: stopping: %w", ctx.Err())
	}
}

// notify wakes the run loop without blocking.
func (p *Plugin) notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// stopped returns a context cancelled by Stop or by parent.
func (p *Plugin) stopped(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// Drain sweeps: the first 100ms after a pass leaves servers draining,
// doubling to at most 2s while they stay.
const (
	sweepFirst = 100 * time.Millisecond
	sweepMax   = 2 * time.Second
)

// recheckDelay is how soon runtime mode looks at HAProxy's servers again
// after finding it not running: it may have been starting from the
// previous file.
const recheckDelay = time.Second

// run is the render loop: wait for an event, wait for quiet, apply; retry
// failed reloads with backoff; in runtime mode, delete drained servers.
func (p *Plugin) run(parent context.Context) {
	ctx, cancel := p.stopped(parent)
	defer cancel()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	sweep := time.NewTimer(time.Hour)
	sweep.Stop()
	backoff, sweepDelay := time.Duration(0), time.Duration(0)
	// nextSweep arms the sweep timer while servers are draining.
	nextSweep := func() {
		if p.draining() == 0 {
			sweepDelay = 0
			return
		}
		sweepDelay = min(max(2*sweepDelay, sweepFirst), sweepMax)
		sweep.Reset(sweepDelay)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
			if !p.waitQuiet(ctx) {
				return
			}
		case <-retry.C:
		case <-sweep.C:
			p.sweep(ctx)
			nextSweep()
			continue
		}
		p.recheck = false
		ok := p.apply(ctx)
		sweep.Stop()
		sweepDelay = 0
		nextSweep()
		if ok && p.recheck {
			retry.Reset(recheckDelay)
			continue
		}
		if ok {
			backoff = 0
			retry.Stop()
			continue
		}
		if p.pendingReload {
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			retry.Reset(backoff)
		}
	}
}

var (
	_ plugins.Plugin         = (*Plugin)(nil)
	_ plugins.Provisioner    = (*Plugin)(nil)
	_ plugins.Reloader       = (*Plugin)(nil)
	_ plugins.EventHandler   = (*Plugin)(nil)
	_ plugins.StatusReporter = (*Plugin)(nil)
	_ plugins.MetricsSource  = (*Plugin)(nil)
)
