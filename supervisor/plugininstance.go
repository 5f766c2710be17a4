package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/services"
)

// pluginInstance is one run of a plugin service.
type pluginInstance struct {
	p      plugins.Plugin
	host   *pluginHost
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	exitc  chan instanceExit
	readyc chan error
	wg     sync.WaitGroup
	once   sync.Once
	sub    *plugins.Subscription
	// started is closed when Start has returned.
	started chan struct{}
	// stopTimeout bounds Stop when the plugin fails (the service's stop_timeout).
	stopTimeout time.Duration
}

// newPlugin builds and provisions a plugin value for svc without starting
// it: factory, strict decode of its table, Provision.
func (s *Supervisor) newPlugin(svc *services.Service, host *pluginHost) (p plugins.Plugin, err error) {
	f, ok := plugins.Lookup(svc.Plugin)
	if !ok {
		return nil, &services.Error{File: svc.File, Key: "plugin", Service: svc.Name, Err: fmt.Errorf("unknown plugin %q", svc.Plugin)}
	}
	// A plugin's factory, decoder hooks and Provision are its code: a panic
	// there is a bad plugin, never a crashed corral.
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, &services.Error{File: svc.File, Key: svc.Plugin, Service: svc.Name, Err: fmt.Errorf("plugin panicked while provisioning: %v", v)}
		}
	}()
	p = f()
	if svc.PluginConfig != nil {
		if err := svc.PluginConfig.Decode(p); err != nil {
			return nil, err
		}
	}
	if pv, ok := p.(plugins.Provisioner); ok {
		if err := pv.Provision(host); err != nil {
			return nil, &services.Error{File: svc.File, Key: svc.Plugin, Service: svc.Name, Err: err}
		}
	}
	return p, nil
}

// startPlugin builds, provisions and starts a plugin instance for svc.
func (s *Supervisor) startPlugin(svc *services.Service) (*pluginInstance, error) {
	in := &pluginInstance{
		exitc:   make(chan instanceExit, 1),
		readyc:  make(chan error, 1),
		log:     s.log.With("service", svc.Name),
		started: make(chan struct{}),

		stopTimeout: svc.StopTimeout,
	}
	in.ctx, in.cancel = context.WithCancel(context.Background())
	in.host = &pluginHost{sup: s, name: svc.Name, log: in.log, inst: in}
	p, err := s.newPlugin(svc, in.host)
	if err != nil {
		in.cancel()
		return nil, err
	}
	in.p = p
	// Subscribe before Start so that no event published from here on is
	// missed; deliver only once Start has returned.
	h, handles := p.(plugins.EventHandler)
	if handles {
		in.sub = s.bus.Subscribe(true, h.Topics()...)
	}
	go func() {
		err := in.protect("start", func() error { return p.Start(in.ctx) })
		close(in.started)
		if err != nil {
			in.fail(err)
			in.readyc <- err
			return
		}
		if handles {
			in.host.Go(func(ctx context.Context) error {
				for {
					select {
					case <-ctx.Done():
						return nil
					case <-in.sub.C():
						for _, ev := range in.sub.Drain() {
							if err := in.protect("event", func() error { h.HandleEvent(ev); return nil }); err != nil {
								return err
							}
						}
					}
				}
			})
		}
		in.readyc <- nil
	}()
	return in, nil
}

// protect runs fn and turns a panic into an error.
func (in *pluginInstance) protect(what string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			in.log.Error("plugin panicked", "during", what, "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic in %s: %v", what, v)
		}
	}()
	return fn()
}

// fail ends the instance because of err (from Start, a Go routine, or a
// panic; plugins.ErrDone ends it for good without failing), giving Stop
// the service's stop_timeout.
func (in *pluginInstance) fail(err error) {
	in.finish(err, in.stopTimeout)
}

// finish stops the plugin once: cancel its context, call Stop with a
// deadline, wait for its goroutines up to that deadline, then report.
func (in *pluginInstance) finish(cause error, timeout time.Duration) {
	in.once.Do(func() {
		go func() {
			in.cancel()
			if in.sub != nil {
				in.sub.Close()
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			// Stop never runs beside Start: wait for Start to return first.
			select {
			case <-in.started:
			case <-ctx.Done():
				in.log.Warn("plugin still starting at its stop deadline")
			}
			// A plugin that ignores its deadline must not hang the unit: wait
			// for Stop until the deadline and a short grace, then go on.
			stopped := make(chan error, 1)
			go func() { stopped <- in.protect("stop", func() error { return in.p.Stop(ctx) }) }()
			select {
			case err := <-stopped:
				if err != nil && cause == nil {
					in.log.Warn("plugin stop failed", "err", err)
				}
			case <-time.After(timeout + time.Second):
				in.log.Error("plugin Stop ignored its deadline: leaving it behind", "deadline", timeout)
			}
			done := make(chan struct{})
			go func() { in.wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				in.log.Warn("plugin goroutines still running after stop deadline")
			}
			st := plugins.ExitStatus{}
			if cause != nil && !errors.Is(cause, plugins.ErrDone) {
				st.Code = 1
			}
			in.exitc <- instanceExit{status: st, err: cause}
		}()
	})
}

func (in *pluginInstance) pid() int                    { return 0 }
func (in *pluginInstance) exited() <-chan instanceExit { return in.exitc }
func (in *pluginInstance) ready() <-chan error         { return in.readyc }

func (in *pluginInstance) terminate(_ syscall.Signal, timeout time.Duration) {
	in.finish(nil, timeout)
}

func (in *pluginInstance) signal(sig syscall.Signal) error {
	if sig == syscall.SIGHUP {
		return in.reload(context.Background(), sig)
	}
	return fmt.Errorf("plugin %s takes no signal but HUP (reload)", in.host.name)
}

func (in *pluginInstance) reload(ctx context.Context, _ syscall.Signal) error {
	r, ok := in.p.(plugins.Reloader)
	if !ok {
		return errors.New("plugin cannot reload")
	}
	return in.protect("reload", func() error { return r.Reload(ctx) })
}

// status returns the plugin's own report, if it makes one.
func (in *pluginInstance) status() (plugins.PluginStatus, bool) {
	r, ok := in.p.(plugins.StatusReporter)
	if !ok {
		return plugins.PluginStatus{}, false
	}
	var st plugins.PluginStatus
	err := in.protect("status", func() error { st = r.Status(); return nil })
	return st, err == nil
}

// metrics returns the plugin's metrics, if it exports any.
func (in *pluginInstance) metrics() []plugins.Metric {
	m, ok := in.p.(plugins.MetricsSource)
	if !ok {
		return nil
	}
	var out []plugins.Metric
	_ = in.protect("metrics", func() error { out = m.Metrics(); return nil })
	return out
}
