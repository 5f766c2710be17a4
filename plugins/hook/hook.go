// Package hook is corral's exec hook plugin: it runs a command on each
// membership event, the way Serf's agent runs event handler scripts, with
// the same environment (SERF_EVENT, SERF_SELF_NAME, SERF_SELF_ROLE,
// SERF_TAG_*) and the same stdin (one "name\taddr\trole\ttags" line per
// member), so existing Serf handler scripts keep working. Commands run
// through the supervisor's reaper (Host.Exec), one at a time, in order.
package hook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/corralhq/corral/plugins"
)

// Name is the plugin's registered name.
const Name = "hook"

// DefaultTimeout bounds one run of the command unless timeout is set.
const DefaultTimeout = 30 * time.Second

// outputLogLimit caps how much of a command's output is logged.
const outputLogLimit = 4096

func init() {
	plugins.Register(Name, func() plugins.Plugin { return new(Plugin) })
}

// membershipEvents are the event names a hook can filter on, as Serf
// names them.
var membershipEvents = []string{"member-join", "member-leave", "member-failed", "member-update", "member-reap"}

// Plugin is the hook plugin: its settings, decoded from the service file's
// [hook] table, and its running state.
type Plugin struct {
	// Command is run on each event: an array of strings (argv), or a
	// string run with `sh -c` (like Serf's event handlers).
	Command any `toml:"command"`
	// Events filters the event types that run the command, Serf's names:
	// member-join, member-leave, member-failed, member-update, member-reap.
	// Default: all of them.
	Events []string `toml:"events"`
	// Timeout kills a run that takes longer; default 30s.
	Timeout time.Duration `toml:"timeout"`

	host plugins.Host
	log  *slog.Logger
	argv []string

	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	stopped bool
	stats   stats
}

// stats is what Status and Metrics report.
type stats struct {
	runs, failures uint64
	lastEvent      string
	lastErr        string
	lastDuration   time.Duration
	lastAt         time.Time
}

// argv reads the command setting: a string (run with sh -c, as Serf runs
// its handlers) or an array of strings.
func argv(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, errors.New("command is required")
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, errors.New("command is empty")
		}
		return []string{"/bin/sh", "-c", v}, nil
	case []string:
		if len(v) == 0 || v[0] == "" {
			return nil, errors.New("command is empty")
		}
		return slices.Clone(v), nil
	case []any:
		out := make([]string, 0, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("command[%d]: got %T, want a string", i, x)
			}
			out = append(out, s)
		}
		return argv(out)
	}
	return nil, fmt.Errorf("command: got %T, want a string or an array of strings", v)
}

// Provision validates the settings.
func (p *Plugin) Provision(host plugins.Host) error {
	p.host = host
	p.log = host.Logger()
	var err error
	if p.argv, err = argv(p.Command); err != nil {
		return fmt.Errorf("hook: %w", err)
	}
	if len(p.Events) == 0 {
		p.Events = slices.Clone(membershipEvents)
	}
	for _, e := range p.Events {
		if !slices.Contains(membershipEvents, e) {
			return fmt.Errorf("hook: unknown event %q (want one of %s)", e, strings.Join(membershipEvents, ", "))
		}
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	if p.Timeout < 0 {
		return fmt.Errorf("hook: negative timeout %s", p.Timeout)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return nil
}

// Start has nothing to start: events arrive through HandleEvent.
func (p *Plugin) Start(ctx context.Context) error {
	if p.host == nil {
		return errors.New("hook: Start before Provision")
	}
	return nil
}

// Stop kills a running command and ignores later events; safe twice.
func (p *Plugin) Stop(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.cancel != nil {
		p.cancel()
	}
	return nil
}

// Topics implements plugins.EventHandler.
func (p *Plugin) Topics() []string { return []string{plugins.TopicMembership} }

// HandleEvent runs the command for a membership event that passes the
// filter. The supervisor calls it from one goroutine, in order, so runs
// never overlap. A failing command is logged and counted, never fatal.
func (p *Plugin) HandleEvent(ev plugins.Event) {
	me, ok := ev.Payload.(plugins.MembershipEvent)
	if !ok || !slices.Contains(p.Events, me.Type) {
		return
	}
	p.mu.Lock()
	stopped, ctx := p.stopped, p.ctx
	p.mu.Unlock()
	if stopped || ctx == nil {
		return
	}
	spec := plugins.ExecSpec{
		Argv:    p.argv,
		Env:     Env(me),
		Stdin:   Stdin(me.Members),
		Timeout: p.Timeout,
	}
	start := time.Now()
	res, err := p.host.Exec(ctx, spec)
	took := time.Since(start)
	if err == nil && !res.Status.Success() {
		err = errors.New(res.Status.String())
	}
	p.mu.Lock()
	p.stats.runs++
	p.stats.lastEvent = me.Type
	p.stats.lastDuration = took
	p.stats.lastAt = start
	if err != nil {
		p.stats.failures++
		p.stats.lastErr = err.Error()
	} else {
		p.stats.lastErr = ""
	}
	p.mu.Unlock()
	out := res.Output
	if len(out) > outputLogLimit {
		out = append(out[:outputLogLimit:outputLogLimit], "..."...)
	}
	if err != nil {
		if ctx.Err() != nil {
			return // stopping: the kill is ours
		}
		p.log.Warn("hook command failed", "event", me.Type, "members", len(me.Members), "took", took.Round(time.Millisecond), "err", err, "output", string(out))
		return
	}
	p.log.Debug("hook command ran", "event", me.Type, "members", len(me.Members), "took", took.Round(time.Millisecond), "output", string(out))
}

// Interface guards.
var (
	_ plugins.Plugin         = (*Plugin)(nil)
	_ plugins.Provisioner    = (*Plugin)(nil)
	_ plugins.EventHandler   = (*Plugin)(nil)
	_ plugins.StatusReporter = (*Plugin)(nil)
	_ plugins.MetricsSource  = (*Plugin)(nil)
)
