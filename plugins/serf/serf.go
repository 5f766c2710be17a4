// Package serf is corral's membership plugin: a Serf agent
// (github.com/hashicorp/serf) run in-process. It joins the cluster (and keeps
// retrying), publishes every member event on the bus as
// plugins.MembershipEvent, and serves Serf's own RPC protocol so the stock
// serf CLI works against it (rpc.go). See README.md for the settings.
package serf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/corralhq/corral/plugins"
	hserf "github.com/hashicorp/serf/serf"
)

// Name is the plugin's registered name.
const Name = "serf"

func init() {
	plugins.Register(Name, func() plugins.Plugin { return new(Plugin) })
}

// Plugin is the serf plugin: its settings, decoded from the service file's
// [serf] table, and its running state.
type Plugin struct {
	// NodeName is this node's name in the cluster; default: the host name.
	NodeName string `toml:"node_name"`
	// Bind is the gossip address, "ip[:port]"; default "0.0.0.0:7946".
	Bind string `toml:"bind"`
	// Advertise is the address told to other nodes, "ip[:port]"; default:
	// the bind address, or a private address of the host when binding to
	// 0.0.0.0.
	Advertise string `toml:"advertise"`
	// Join lists nodes to join, "host[:port]" (host names are resolved on
	// each attempt). Attempts repeat with exponential backoff and jitter
	// until one answers, and again whenever this node is alone or sees none
	// of them alive.
	Join []string `toml:"join"`
	// RetryInterval is the first wait after a failed join; default 1s.
	RetryInterval time.Duration `toml:"retry_interval"`
	// RetryMaxInterval caps the wait between failed joins; default 30s.
	RetryMaxInterval time.Duration `toml:"retry_max_interval"`
	// Tags are this node's tags (role, port, weight...).
	Tags map[string]string `toml:"tags"`
	// EncryptKey is the gossip encryption key, base64 of 16, 24 or 32 bytes.
	EncryptKey string `toml:"encrypt_key"`
	// EncryptKeyFile is a file holding the key (read at start).
	EncryptKeyFile string `toml:"encrypt_key_file"`
	// EncryptKeyEnv is an environment variable holding the key.
	EncryptKeyEnv string `toml:"encrypt_key_env"`
	// Snapshot is a file where Serf records members, so that a restart
	// rejoins the nodes it knew; empty: no snapshot.
	Snapshot string `toml:"snapshot"`
	// Profile is the timing profile: "lan" (default), "local" or "wan".
	Profile string `toml:"profile"`
	// RPCAddr is where Serf's RPC protocol is served for the serf CLI,
	// "ip:port"; default "127.0.0.1:7373"; "off" disables it.
	RPCAddr string `toml:"rpc_addr"`
	// RPCAuth, when set, is the token RPC clients must give (serf -rpc-auth).
	RPCAuth string `toml:"rpc_auth"`
	// LeaveOnStop makes Stop leave the cluster gracefully, so that peers see
	// member-leave at once rather than member-failed seconds later; default
	// true.
	LeaveOnStop *bool `toml:"leave_on_stop"`

	// Derived by Provision.
	host     plugins.Host
	log      *slog.Logger
	bindAddr string
	bindPort int
	advAddr  string
	advPort  int
	profile  Profile
	key      []byte

	// Running state.
	agent *agent
	ipc   *rpcServer
	queue *eventQueue
	state *memberState
	join  *joinState

	stopOnce sync.Once
	stopErr  error
	stopping chan struct{}
}

// Provision validates the settings and fills in defaults.
func (p *Plugin) Provision(host plugins.Host) error {
	p.host = host
	p.log = host.Logger()
	if err := p.validate(host.Hostname()); err != nil {
		return fmt.Errorf("serf: %w", err)
	}
	return nil
}

// serfConfig builds the Serf configuration from the settings.
func (p *Plugin) serfConfig(logOut io.Writer) *hserf.Config {
	conf := hserf.DefaultConfig()
	conf.NodeName = p.NodeName
	conf.Tags = map[string]string{}
	for k, v := range p.Tags {
		conf.Tags[k] = v
	}
	conf.SnapshotPath = p.Snapshot
	// A graceful leave must not keep a restarted node out of the cluster.
	conf.RejoinAfterLeave = true
	conf.LogOutput = logOut
	ml := p.profile.memberlistConfig()
	ml.BindAddr = p.bindAddr
	ml.BindPort = p.bindPort
	if p.advAddr != "" {
		ml.AdvertiseAddr = p.advAddr
		ml.AdvertisePort = p.advPort
	}
	ml.SecretKey = p.key
	// As serf's own agent does (and this plugin did when it used it).
	ml.EnableCompression = false
	ml.LogOutput = logOut
	conf.MemberlistConfig = ml
	return conf
}

// Start creates the agent, starts the RPC server, and starts the event and
// join loops. It returns once the agent is up (joining goes on behind).
func (p *Plugin) Start(ctx context.Context) error {
	if p.host == nil {
		return errors.New("serf: Start before Provision")
	}
	if err := p.loadKey(); err != nil {
		return fmt.Errorf("serf: %w", err)
	}
	if p.Snapshot != "" {
		if err := os.MkdirAll(filepath.Dir(p.Snapshot), 0o700); err != nil {
			return fmt.Errorf("serf: creating snapshot directory: %w", err)
		}
	}
	p.stopping = make(chan struct{})
	p.queue = newEventQueue()
	p.state = newMemberState()
	p.join = &joinState{}
	// Serf's and memberlist's log lines go to the plugin's logger and to a
	// ring buffer that `serf monitor` streams.
	ring := newLogRing()
	out := io.MultiWriter(newLogWriter(p.log), ring)
	a, err := newAgent(p.serfConfig(out), p.queue)
	if err != nil {
		return fmt.Errorf("serf: starting agent: %w", err)
	}
	if p.RPCAddr != rpcOff {
		ln, err := net.Listen("tcp", p.RPCAddr)
		if err != nil {
			_ = a.Shutdown()
			return fmt.Errorf("serf: listening for rpc: %w", err)
		}
		p.ipc = newRPCServer(a, p.RPCAuth, ln, ring, p.log)
	}
	p.agent = a
	self := a.Serf().LocalMember()
	p.log.Info("serf agent started", "node", self.Name, "addr", net.JoinHostPort(self.Addr.String(), strconv.Itoa(int(self.Port))),
		"encrypted", a.Serf().EncryptionEnabled(), "rpc", p.RPCAddr, "join", p.Join)
	p.host.Go(p.eventLoop)
	p.host.Go(p.joinLoop)
	p.host.Go(p.watchShutdown)
	return nil
}

// watchShutdown fails the plugin when the agent shuts down by itself (for
// instance `serf leave` over RPC), so the supervisor restarts it.
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
		return errors.New("serf: agent shut down outside corral (serf leave over rpc?)")
	}
}

// Stop leaves the cluster gracefully (unless leave_on_stop is false) within
// ctx's deadline, then shuts the agent and the RPC server down. It is safe
// to call twice.
func (p *Plugin) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() { p.stopErr = p.stop(ctx) })
	return p.stopErr
}

func (p *Plugin) stop(ctx context.Context) error {
	if p.agent == nil {
		return nil
	}
	close(p.stopping)
	var errs []error
	shutDown := false
	select {
	case <-p.agent.ShutdownCh():
		shutDown = true // by `serf leave` over RPC: nothing left to leave
	default:
	}
	if *p.LeaveOnStop && !shutDown {
		done := make(chan error, 1)
		go func() { done <- p.agent.Leave() }()
		select {
		case err := <-done:
			if err != nil {
				errs = append(errs, fmt.Errorf("serf: leaving: %w", err))
			}
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("serf: leaving: %w", ctx.Err()))
		}
	}
	if p.ipc != nil {
		p.ipc.Shutdown()
	}
	if err := p.agent.Shutdown(); err != nil {
		errs = append(errs, fmt.Errorf("serf: shutting down: %w", err))
	}
	return errors.Join(errs...)
}

// Interface guards.
var (
	_ plugins.Plugin         = (*Plugin)(nil)
	_ plugins.Provisioner    = (*Plugin)(nil)
	_ plugins.StatusReporter = (*Plugin)(nil)
	_ plugins.MetricsSource  = (*Plugin)(nil)
)
