// Package hook is corral's event handler plugin: it runs a command on the
// events of the serf plugin's agent, as a stock Serf agent runs an event
// handler script: with the same environment (SERF_EVENT, SERF_SELF_NAME,
// SERF_SELF_ROLE, SERF_TAG_*, SERF_USER_EVENT, SERF_QUERY_NAME...), the
// same stdin (one "name\taddr\trole\ttags" line per member, or the user
// event's or query's payload), and for a query its output as the answer,
// so existing Serf handler scripts keep working. The agent runs its
// handlers one at a time, in event order, whatever the number of hook
// services; commands run through the supervisor's reaper (Host.Exec).
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

// Name is the name service files use: plugin = "hook".
const Name = "hook"

// DefaultTimeout bounds one run of the command unless timeout is set.
const DefaultTimeout = 30 * time.Second

// outputLogLimit caps how much of a command's output is logged.
const outputLogLimit = 4096

func init() {
	plugins.Register(Name, func() plugins.Plugin { return New() })
}

// New returns a hook plugin with its defaults, ready to decode its table
// into.
func New() *Plugin { return &Plugin{} }

// Config is the [hook] table of a service file.
type Config struct {
	// Command is run on each event: an array of strings (argv), or a
	// string run with /bin/sh -c (as the stock agent runs its handlers).
	Command plugins.Command `toml:"command"`
	// Events filters the events that run the command, in the stock
	// agent's syntax: member-join, member-leave, member-failed,
	// member-update, member-reap, user (any user event), user:NAME,
	// query, query:NAME, or * (everything). Default: the five member
	// events.
	Events []string `toml:"events"`
	// Timeout kills a run that takes longer; default 30s.
	Timeout time.Duration `toml:"timeout"`
}

// Plugin is one hook instance. Its Config is decoded from the service
// file's [hook] table.
type Plugin struct {
	Config

	host    plugins.Host
	log     *slog.Logger
	filters []filter

	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	stopped bool
	removes map[string]func() // by serf service
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

// memberEvents are the member event names, as Serf names them.
var memberEvents = []string{"member-join", "member-leave", "member-failed", "member-update", "member-reap"}

// filter is one entry of events: a type and, for user events and queries,
// an optional name.
type filter struct {
	typ, name string
}

// parseFilter reads "member-join", "user:deploy", "query", "*".
func parseFilter(s string) (filter, error) {
	typ, name, hasName := strings.Cut(strings.TrimSpace(s), ":")
	switch {
	case typ == "*" && !hasName:
	case slices.Contains(memberEvents, typ) && !hasName:
	case typ == "user" || typ == "query":
		if hasName && name == "" {
			return filter{}, fmt.Errorf("event %q: empty name after %s:", s, typ)
		}
	default:
		return filter{}, fmt.Errorf("unknown event %q (want %s, user, user:NAME, query, query:NAME or *)", s, strings.Join(memberEvents, ", "))
	}
	return filter{typ: typ, name: name}, nil
}

// match tells whether an event passes the filter.
func (f filter) match(event, name string) bool {
	return f.typ == "*" || (f.typ == event && (f.name == "" || f.name == name))
}

// Provision validates the settings.
func (p *Plugin) Provision(host plugins.Host) error {
	p.host = host
	p.log = host.Logger()
	if len(p.Command) == 0 {
		return errors.New("command is required")
	}
	if len(p.Events) == 0 {
		p.Events = slices.Clone(memberEvents)
	}
	for _, e := range p.Events {
		f, err := parseFilter(e)
		if err != nil {
			return err
		}
		p.filters = append(p.filters, f)
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	if p.Timeout < 0 {
		return fmt.Errorf("negative timeout %s", p.Timeout)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.removes = map[string]func(){}
	return nil
}

// Start has nothing to start: the hook joins the serf agent's handlers
// when the agent's registry reaches it on the bus (HandleEvent).
func (p *Plugin) Start(ctx context.Context) error {
	if p.host == nil {
		return errors.New("started before Provision")
	}
	return nil
}

// Stop leaves the agents' handlers and kills a running command; it is safe
// to call twice.
func (p *Plugin) Stop(ctx context.Context) error {
	p.mu.Lock()
	p.stopped = true
	removes := p.removes
	p.removes = nil
	p.mu.Unlock()
	for _, remove := range removes {
		remove()
	}
	if p.cancel != nil {
		p.cancel()
	}
	return nil
}

// Topics implements plugins.EventHandler: the serf plugins' registries.
func (p *Plugin) Topics() []string { return []string{plugins.TopicHandlers} }

// HandleEvent joins the handlers of a serf agent that started (or
// restarted: its new registry replaces the old).
func (p *Plugin) HandleEvent(ev plugins.Event) {
	reg, ok := ev.Payload.(plugins.HandlerRegistry)
	if !ok {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if old := p.removes[ev.Source]; old != nil {
		old()
	}
	p.removes[ev.Source] = reg.AddHandler(p.host.Name(), p.run)
	p.log.Debug("hook joined the handlers of a serf agent", "agent", ev.Source)
}

// run is the handler: it runs the command for an event that passes the
// filter and returns its output when it succeeded (a query's answer). A
// failing command is logged and counted, never fatal.
func (p *Plugin) run(ctx context.Context, event, name string, env []string, stdin []byte) []byte {
	if !slices.ContainsFunc(p.filters, func(f filter) bool { return f.match(event, name) }) {
		return nil
	}
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if stopped {
		return nil
	}
	// The run ends when the agent stops or this hook does.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.ctx, cancel)()
	start := time.Now()
	res, err := p.host.Exec(ctx, plugins.ExecSpec{Argv: p.Command, Env: env, Stdin: stdin, Timeout: p.Timeout})
	took := time.Since(start)
	if err == nil && !res.Status.Success() {
		err = errors.New(res.Status.String())
	}
	label := event
	if name != "" {
		label += ":" + name
	}
	p.mu.Lock()
	p.stats.runs++
	p.stats.lastEvent = label
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
		if ctx.Err() == nil {
			p.log.Warn("hook command failed", "event", label, "took", took.Round(time.Millisecond), "err", err, "output", string(out))
		}
		return nil
	}
	p.log.Debug("hook command ran", "event", label, "took", took.Round(time.Millisecond), "output", string(out))
	return res.Output
}

// Interface guards.
var (
	_ plugins.Plugin         = (*Plugin)(nil)
	_ plugins.Provisioner    = (*Plugin)(nil)
	_ plugins.EventHandler   = (*Plugin)(nil)
	_ plugins.StatusReporter = (*Plugin)(nil)
	_ plugins.MetricsSource  = (*Plugin)(nil)
)
