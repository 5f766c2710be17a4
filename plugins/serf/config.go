package serf

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/hashicorp/memberlist"
)

// Config is the [serf] table of a service file. Every string setting may
// hold ${VAR}, $VAR and ${VAR:-default}, expanded from the container's
// environment when the file is loaded ($$ is a literal $).
type Config struct {
	// NodeName is this node's name in the cluster; default: the host name.
	NodeName string `toml:"node_name"`
	// Bind is the gossip address, "ip[:port]"; default "0.0.0.0:7946".
	Bind string `toml:"bind"`
	// Advertise is the address told to other nodes, "ip[:port]"; default:
	// the bind address, or, when binding to 0.0.0.0, the address the host
	// name resolves to if it is this host's (a container's own address, in
	// a Swarm too), else a private address of the host.
	Advertise string `toml:"advertise"`
	// Join lists nodes to join, "host[:port]". Host names are resolved on
	// each attempt and every address they resolve to (all A and AAAA
	// records, as Docker Swarm's tasks.<service> returns one per task) is
	// joined. Attempts repeat with exponential backoff and jitter until one
	// answers, and again whenever this node is alone or sees none of them
	// alive. Entries that expand to "" are dropped.
	Join []string `toml:"join"`
	// RetryInterval is the first wait after a failed join; default 1s.
	RetryInterval time.Duration `toml:"retry_interval"`
	// RetryMaxInterval caps the wait between failed joins; default 30s.
	RetryMaxInterval time.Duration `toml:"retry_max_interval"`
	// Tags are this node's tags (role, port, weight...). A tag whose value
	// expands to "" is not set.
	Tags map[string]string `toml:"tags"`
	// EncryptKey is the gossip encryption key, base64 of 16, 24 or 32 bytes.
	EncryptKey string `toml:"encrypt_key"`
	// EncryptKeyFile is a file holding the key (read at start).
	EncryptKeyFile string `toml:"encrypt_key_file"`
	// EncryptKeyEnv is an environment variable holding the key.
	EncryptKeyEnv string `toml:"encrypt_key_env"`
	// KeyringFile is where the keyring is kept across restarts, as the
	// stock agent's -keyring-file: when the file exists it is loaded
	// instead of the key, and `serf keys -install/-use/-remove` rewrite it.
	KeyringFile string `toml:"keyring_file"`
	// Snapshot is a file where Serf records members, so that a restart
	// rejoins the nodes it knew; empty: no snapshot.
	Snapshot string `toml:"snapshot"`
	// Profile is the timing profile: "lan" (default), "local" or "wan".
	Profile string `toml:"profile"`
	// GossipInterval is how often queued gossip goes out; default 50ms
	// ("lan" and "local"), 500ms ("wan"). A graceful leave waits for a few
	// rounds of it.
	GossipInterval time.Duration `toml:"gossip_interval"`
	// RPCAddr is where Serf's RPC protocol is served for the serf CLI,
	// "ip:port"; default "127.0.0.1:7373"; "off" disables it.
	RPCAddr string `toml:"rpc_addr"`
	// RPCAuth, when set, is the token RPC clients must give (serf -rpc-auth).
	RPCAuth string `toml:"rpc_auth"`
	// LeaveOnStop makes Stop leave the cluster gracefully, so that peers see
	// member-leave at once rather than member-failed seconds later; default
	// true.
	LeaveOnStop *bool `toml:"leave_on_stop"`
	// Coalesce batches the events given to event handlers (hook services)
	// as the stock agent does: member events until none came for 1s (at
	// most 3s), user events sent with coalescing by name. Default false:
	// each event reaches the handlers as it happens. The bus (template)
	// is never delayed.
	Coalesce bool `toml:"coalesce"`
}

// Defaults of the settings.
const (
	// DefaultBindPort is Serf's usual gossip port.
	DefaultBindPort = 7946
	// DefaultBind is where the agent listens unless told otherwise.
	DefaultBind = "0.0.0.0:7946"
	// DefaultRPCAddr is where Serf's RPC protocol is served (for the serf CLI).
	DefaultRPCAddr = "127.0.0.1:7373"
	// DefaultRetryInterval is the first wait between failed join attempts.
	DefaultRetryInterval = time.Second
	// DefaultRetryMaxInterval caps the wait between failed join attempts.
	DefaultRetryMaxInterval = 30 * time.Second
	// DefaultGossipInterval is the gossip interval of the lan and local
	// profiles (memberlist's are 200ms and 100ms).
	DefaultGossipInterval = 50 * time.Millisecond
)

// rpcOff is the rpc_addr value that disables the RPC server.
const rpcOff = "off"

// Profile is a timing profile of the gossip layer (memberlist).
type Profile int

// Profiles, as Serf's agent names them.
const (
	// ProfileLAN suits a local network: failures detected in a few seconds.
	ProfileLAN Profile = iota
	// ProfileLocal suits loopback or a single host: the fastest timings.
	ProfileLocal
	// ProfileWAN suits high-latency links: slower and more tolerant.
	ProfileWAN
)

// String returns the profile's name as written in the settings.
func (p Profile) String() string {
	switch p {
	case ProfileLAN:
		return "lan"
	case ProfileLocal:
		return "local"
	case ProfileWAN:
		return "wan"
	}
	return "profile(" + strconv.Itoa(int(p)) + ")"
}

// parseProfile reads a profile name; empty means lan.
func parseProfile(s string) (Profile, error) {
	switch s {
	case "", "lan":
		return ProfileLAN, nil
	case "local":
		return ProfileLocal, nil
	case "wan":
		return ProfileWAN, nil
	}
	return 0, fmt.Errorf("unknown profile %q (want lan, local or wan)", s)
}

// memberlistConfig returns memberlist's defaults for the profile.
func (p Profile) memberlistConfig() *memberlist.Config {
	switch p {
	case ProfileLocal:
		return memberlist.DefaultLocalConfig()
	case ProfileWAN:
		return memberlist.DefaultWANConfig()
	}
	return memberlist.DefaultLANConfig()
}

// hostPort splits "host[:port]" (IPv6 hosts in brackets), with def as the
// port when none is given.
func hostPort(s string, def int) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("empty address")
	}
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a bare host name, IPv4 address, or IPv6 address.
		host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		if strings.ContainsAny(host, "[] \t/") {
			return "", 0, fmt.Errorf("bad address %q", s)
		}
		return host, def, nil
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", s)
	}
	if host == "" || strings.ContainsAny(host, " \t/") {
		return "", 0, fmt.Errorf("bad host in %q", s)
	}
	return host, port, nil
}

// ipPort is like hostPort but requires an IP address.
func ipPort(s string, def int) (string, int, error) {
	host, port, err := hostPort(s, def)
	if err != nil {
		return "", 0, err
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("%q is not an IP address", host)
	}
	return host, port, nil
}

// decodeKey decodes a base64 encryption key of 16, 24 or 32 bytes.
func decodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("decoding base64 key: %w", err)
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	}
	return nil, fmt.Errorf("key is %d bytes, want 16, 24 or 32", len(key))
}

// expand replaces ${VAR} references in every string setting, with values
// from lookup. Join entries and tags that expand to "" are dropped.
func (c *Config) expand(lookup func(string) (string, bool)) error {
	for _, f := range []struct {
		key string
		v   *string
	}{
		{"node_name", &c.NodeName}, {"bind", &c.Bind}, {"advertise", &c.Advertise},
		{"encrypt_key", &c.EncryptKey}, {"encrypt_key_file", &c.EncryptKeyFile}, {"encrypt_key_env", &c.EncryptKeyEnv},
		{"keyring_file", &c.KeyringFile}, {"snapshot", &c.Snapshot}, {"profile", &c.Profile},
		{"rpc_addr", &c.RPCAddr}, {"rpc_auth", &c.RPCAuth},
	} {
		v, err := plugins.Expand(*f.v, lookup)
		if err != nil {
			return fmt.Errorf("%s: %w", f.key, err)
		}
		*f.v = v
	}
	join := c.Join[:0:0]
	for i, j := range c.Join {
		v, err := plugins.Expand(j, lookup)
		if err != nil {
			return fmt.Errorf("join[%d]: %w", i, err)
		}
		if v = strings.TrimSpace(v); v != "" {
			join = append(join, v)
		}
	}
	c.Join = join
	if c.Tags != nil {
		tags := make(map[string]string, len(c.Tags))
		for k, t := range c.Tags {
			v, err := plugins.Expand(t, lookup)
			if err != nil {
				return fmt.Errorf("tags.%s: %w", k, err)
			}
			if v != "" {
				tags[k] = v
			}
		}
		c.Tags = tags
	}
	return nil
}

// settings are what Provision derives from a Config.
type settings struct {
	bindAddr string
	bindPort int
	advAddr  string
	advPort  int
	profile  Profile
	// key is the configured gossip key (encrypt_key or encrypt_key_env;
	// encrypt_key_file is read at start), nil when none.
	key []byte
}

// validate checks the settings (expanded) and fills in defaults. It does
// no I/O: the key file and keyring file are read at start.
func (c *Config) validate(hostname string, lookup func(string) (string, bool)) (settings, error) {
	var s settings
	if c.NodeName == "" {
		c.NodeName = hostname
	}
	if c.NodeName == "" {
		return s, errors.New("node_name is empty and the host name is unknown")
	}
	if c.Bind == "" {
		c.Bind = DefaultBind
	}
	var err error
	if s.bindAddr, s.bindPort, err = ipPort(c.Bind, DefaultBindPort); err != nil {
		return s, fmt.Errorf("bind: %w", err)
	}
	if c.Advertise != "" {
		if s.advAddr, s.advPort, err = ipPort(c.Advertise, s.bindPort); err != nil {
			return s, fmt.Errorf("advertise: %w", err)
		}
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.RetryMaxInterval == 0 {
		c.RetryMaxInterval = DefaultRetryMaxInterval
	}
	if c.RetryInterval < 0 || c.RetryMaxInterval < c.RetryInterval {
		return s, fmt.Errorf("retry_interval %s and retry_max_interval %s: want 0 < interval <= max", c.RetryInterval, c.RetryMaxInterval)
	}
	for k := range c.Tags {
		if k == "" {
			return s, errors.New("tags: empty tag name")
		}
	}
	if s.profile, err = parseProfile(c.Profile); err != nil {
		return s, err
	}
	if c.GossipInterval == 0 {
		c.GossipInterval = DefaultGossipInterval
		if s.profile == ProfileWAN {
			c.GossipInterval = s.profile.memberlistConfig().GossipInterval
		}
	}
	if c.GossipInterval < 5*time.Millisecond || c.GossipInterval > 10*time.Second {
		return s, fmt.Errorf("gossip_interval %s: want 5ms to 10s", c.GossipInterval)
	}
	n := 0
	for _, set := range []string{c.EncryptKey, c.EncryptKeyFile, c.EncryptKeyEnv} {
		if set != "" {
			n++
		}
	}
	if n > 1 {
		return s, errors.New("set only one of encrypt_key, encrypt_key_file and encrypt_key_env")
	}
	switch {
	case c.EncryptKey != "":
		if s.key, err = decodeKey(c.EncryptKey); err != nil {
			return s, fmt.Errorf("encrypt_key: %w", err)
		}
	case c.EncryptKeyEnv != "":
		v, ok := lookup(c.EncryptKeyEnv)
		if !ok {
			return s, fmt.Errorf("encrypt_key_env: variable %s is not set", c.EncryptKeyEnv)
		}
		if s.key, err = decodeKey(v); err != nil {
			return s, fmt.Errorf("encrypt_key_env %s: %w", c.EncryptKeyEnv, err)
		}
	}
	if c.RPCAddr == "" {
		c.RPCAddr = DefaultRPCAddr
	}
	if c.RPCAddr != rpcOff {
		_, port, err := ipPort(c.RPCAddr, -1)
		if err != nil {
			return s, fmt.Errorf("rpc_addr: %w", err)
		}
		if port < 0 {
			return s, fmt.Errorf("rpc_addr %q: a port is required", c.RPCAddr)
		}
	}
	if c.LeaveOnStop == nil {
		t := true
		c.LeaveOnStop = &t
	}
	return s, nil
}
