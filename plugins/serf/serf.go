// Package serf is corral's membership plugin: a Serf agent
// (github.com/hashicorp/serf) run in-process. It joins the cluster (and keeps
// retrying), publishes every member event on the bus as
// plugins.MembershipEvent, runs the event handlers that join it (the hook
// plugin, see handlers.go) one at a time as the stock agent does, and
// serves Serf's own RPC protocol so the stock serf CLI works against it
// (rpc.go). See README.md for the settings.
package serf

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/hashicorp/memberlist"
	hserf "github.com/hashicorp/serf/serf"
)

// Name is the name service files use: plugin = "serf".
const Name = "serf"

func init() {
	plugins.Register(Name, func() plugins.Plugin { return New() })
}

// New returns a serf plugin with its defaults, ready to decode its table
// into.
func New() *Plugin { return &Plugin{} }

// Plugin is one serf instance. Its Config is decoded from the service
// file's [serf] table.
type Plugin struct {
	Config

	// Derived by Provision.
	host    plugins.Host
	log     *slog.Logger
	s       settings
	targets []joinTarget

	// Running state.
	agent     *agent
	transport *leaveTransport
	ipc       *rpcServer
	queue     *eventQueue
	state     *memberState
	join      *joinState
	handlers  *Handlers
	decrypt   *decryptWatch
	keys      keyringSource
	// left is when an operator's `serf leave` took this node out.
	left atomic.Pointer[time.Time]

	stopOnce sync.Once
	stopErr  error
	stopping chan struct{}
}

// Provision expands and validates the settings and fills in defaults.
func (p *Plugin) Provision(host plugins.Host) error {
	p.host = host
	p.log = host.Logger()
	if err := p.Config.expand(host.LookupEnv); err != nil {
		return err
	}
	s, err := p.Config.validate(host.Hostname(), host.LookupEnv)
	if err != nil {
		return err
	}
	p.s = s
	p.targets = p.targets[:0]
	for _, j := range p.Join {
		t, err := parseJoinTarget(j, s.bindPort)
		if err != nil {
			return fmt.Errorf("join: %w", err)
		}
		p.targets = append(p.targets, t)
	}
	return nil
}

// serfConfig builds the Serf configuration from the settings.
func (p *Plugin) serfConfig(logOut io.Writer, keyring *memberlist.Keyring, transport memberlist.Transport) *hserf.Config {
	conf := hserf.DefaultConfig()
	conf.NodeName = p.NodeName
	conf.Tags = map[string]string{}
	for k, v := range p.Tags {
		conf.Tags[k] = v
	}
	conf.SnapshotPath = p.Snapshot
	conf.KeyringFile = p.KeyringFile
	// A graceful leave must not keep a restarted node out of the cluster.
	conf.RejoinAfterLeave = true
	// Once its leave has gone out (see transport.go), a node has nothing
	// left to wait for: peers relay it.
	conf.LeavePropagateDelay = 2 * p.GossipInterval
	conf.LogOutput = logOut
	ml := p.s.profile.memberlistConfig()
	ml.GossipInterval = p.GossipInterval
	ml.BindAddr = p.s.bindAddr
	ml.BindPort = p.s.bindPort
	if p.s.advAddr != "" {
		ml.AdvertiseAddr = p.s.advAddr
		ml.AdvertisePort = p.s.advPort
	} else if ip := net.ParseIP(p.s.bindAddr); ip == nil || ip.IsUnspecified() {
		if a := hostAdvertiseAddr(p.host.Hostname()); a != "" {
			ml.AdvertiseAddr, ml.AdvertisePort = a, p.s.bindPort
		}
	}
	ml.Keyring = keyring
	ml.Transport = transport
	// As serf's own agent does (and this plugin did when it used it).
	ml.EnableCompression = false
	ml.LogOutput = logOut
	conf.MemberlistConfig = ml
	return conf
}

// Start creates the agent, starts the RPC server, and starts the event,
// handler and join loops. It returns once the agent is up (joining goes on
// behind).
func (p *Plugin) Start(ctx context.Context) error {
	if p.host == nil {
		return errors.New("started before Provision")
	}
	keyring, source, warn, err := loadKeyring(&p.Config, p.s.key)
	if err != nil {
		return err
	}
	if warn != nil {
		p.log.Warn("keyring_file: key changes will not survive a restart", "keyring_file", p.KeyringFile, "err", warn)
	}
	p.keys = source
	if p.Snapshot != "" {
		if err := os.MkdirAll(filepath.Dir(p.Snapshot), 0o700); err != nil {
			return fmt.Errorf("creating snapshot directory: %w", err)
		}
	}
	p.stopping = make(chan struct{})
	p.queue = newEventQueue()
	p.state = newMemberState()
	p.join = &joinState{}
	p.decrypt = &decryptWatch{}
	p.handlers = newHandlers(p.log, p.Coalesce)
	// Serf's and memberlist's log lines go to the plugin's logger and to a
	// ring buffer that `serf monitor` streams.
	ring := newLogRing()
	out := io.MultiWriter(newLogWriter(p.log, p.decrypt), ring)
	tr, err := newLeaveTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{p.s.bindAddr}, BindPort: p.s.bindPort, Logger: stdlog.New(out, "", stdlog.LstdFlags),
	})
	if err != nil {
		return fmt.Errorf("binding %s: %w", p.Bind, err)
	}
	p.transport = tr
	conf := p.serfConfig(out, keyring, tr)
	if conf.MemberlistConfig.BindPort == 0 {
		conf.MemberlistConfig.BindPort = tr.GetAutoBindPort()
		if conf.MemberlistConfig.AdvertiseAddr != "" && conf.MemberlistConfig.AdvertisePort == 0 {
			conf.MemberlistConfig.AdvertisePort = conf.MemberlistConfig.BindPort
		}
	}
	// Handlers join before the first event: publish the registry first.
	p.host.Bus().Publish(plugins.Event{Topic: plugins.TopicHandlers, Source: p.host.Name(), Payload: p.handlers})
	a, err := newAgent(conf, p.queue)
	if err != nil {
		_ = tr.Shutdown()
		p.handlers.close()
		return fmt.Errorf("starting agent: %w", err)
	}
	if p.RPCAddr != rpcOff {
		ln, err := net.Listen("tcp", p.RPCAddr)
		if err != nil {
			_ = a.Shutdown()
			p.handlers.close()
			return fmt.Errorf("listening for rpc: %w", err)
		}
		p.ipc = newRPCServer(a, p.RPCAuth, ln, ring, p.log, p.operatorLeave)
	}
	p.agent = a
	self := a.Serf().LocalMember()
	p.log.Info("serf agent started", "node", self.Name, "addr", net.JoinHostPort(self.Addr.String(), strconv.Itoa(int(self.Port))),
		"encrypted", a.Serf().EncryptionEnabled(), "keys", string(source), "rpc", p.RPCAddr, "join", p.Join)
	if source == keysFromKeyring && p.s.key != nil && !hasKey(keyring, p.s.key) {
		p.log.Info("the configured gossip key is not in the keyring file (rotated out): using the keyring file", "keyring_file", p.KeyringFile)
	}
	p.host.Go(p.eventLoop)
	p.host.Go(p.joinLoop)
	p.host.Go(p.handlers.run)
	p.host.Go(p.watchShutdown)
	return nil
}

// operatorLeave is `serf leave` over RPC: the node leaves the cluster and
// the plugin ends for good (plugins.ErrDone, like the stock agent, which
// exits): the service stays EXITED until `supervisorctl start`.
func (p *Plugin) operatorLeave() error {
	now := time.Now()
	p.left.Store(&now)
	p.log.Warn("left the cluster by serf leave: staying out until `supervisorctl start " + p.host.Name() + "`")
	p.startLeave()
	err := p.agent.Leave()
	if serr := p.agent.Shutdown(); serr != nil && err == nil {
		err = serr
	}
	return err
}

// watchShutdown fails the plugin should the agent shut down by itself;
// after an operator's leave it ends the plugin for good (plugins.ErrDone).
func (p *Plugin) watchShutdown(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-p.stopping:
		return nil
	case <-p.agent.ShutdownCh():
		select {
		case <-p.stopping:
			return nil
		default:
		}
		if at := p.left.Load(); at != nil {
			p.handlers.close()
			return fmt.Errorf("left the cluster by serf leave at %s: %w", at.Format(time.TimeOnly), plugins.ErrDone)
		}
		return errors.New("the serf agent shut down by itself")
	}
}

// startLeave points the transport's leave redirection (transport.go) at
// memberlist's view now, and returns the number of alive peers.
func (p *Plugin) startLeave() int {
	ml := p.agent.Serf().Memberlist()
	self := ml.LocalNode().Name
	live := map[string]bool{}
	var alive []memberlist.Address
	for _, n := range ml.Members() { // alive and suspect
		live[n.Name] = true
		if n.State == memberlist.StateAlive && n.Name != self {
			alive = append(alive, n.FullAddress())
		}
	}
	p.transport.startLeave(live, alive)
	return len(alive)
}

// Stop leaves the cluster gracefully (unless leave_on_stop is false), then
// shuts the agent and the RPC server down. Should ctx end first, Stop
// returns and the agent shuts down as soon as its leave is over (Serf must
// not be shut down under a leave). It is safe to call twice.
func (p *Plugin) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() { p.stopErr = p.stop(ctx) })
	return p.stopErr
}

func (p *Plugin) stop(ctx context.Context) error {
	if p.agent == nil {
		return nil
	}
	close(p.stopping)
	p.handlers.close()
	if p.ipc != nil {
		p.ipc.Shutdown()
	}
	done := make(chan error, 1)
	go func() {
		var errs []error
		if *p.LeaveOnStop && p.left.Load() == nil {
			start := time.Now()
			peers := p.startLeave()
			if err := p.agent.Leave(); err != nil {
				errs = append(errs, fmt.Errorf("leaving: %w", err))
			}
			p.log.Info("left the cluster", "peers", peers, "took", time.Since(start).Round(time.Millisecond))
		}
		if err := p.agent.Shutdown(); err != nil {
			errs = append(errs, fmt.Errorf("shutting down: %w", err))
		}
		done <- errors.Join(errs...)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("leaving: %w (the agent shuts down once its leave is over)", ctx.Err())
	}
}

// Interface guards.
var (
	_ plugins.Plugin         = (*Plugin)(nil)
	_ plugins.Provisioner    = (*Plugin)(nil)
	_ plugins.StatusReporter = (*Plugin)(nil)
	_ plugins.MetricsSource  = (*Plugin)(nil)
)
