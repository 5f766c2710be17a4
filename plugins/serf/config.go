package serf

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

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

// validate checks the settings and fills in defaults. It does no I/O; the
// key file is read by loadKey at start.
func (p *Plugin) validate(hostname string) error {
	if p.NodeName == "" {
		p.NodeName = hostname
	}
	if p.NodeName == "" {
		return errors.New("node_name is empty and the host name is unknown")
	}
	if p.Bind == "" {
		p.Bind = DefaultBind
	}
	var err error
	if p.bindAddr, p.bindPort, err = ipPort(p.Bind, DefaultBindPort); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if p.Advertise != "" {
		if p.advAddr, p.advPort, err = ipPort(p.Advertise, p.bindPort); err != nil {
			return fmt.Errorf("advertise: %w", err)
		}
	}
	for _, j := range p.Join {
		if _, _, err := hostPort(j, p.bindPort); err != nil {
			return fmt.Errorf("join: %w", err)
		}
	}
	if p.RetryInterval == 0 {
		p.RetryInterval = DefaultRetryInterval
	}
	if p.RetryMaxInterval == 0 {
		p.RetryMaxInterval = DefaultRetryMaxInterval
	}
	if p.RetryInterval < 0 || p.RetryMaxInterval < p.RetryInterval {
		return fmt.Errorf("retry_interval %s and retry_max_interval %s: want 0 < interval <= max", p.RetryInterval, p.RetryMaxInterval)
	}
	for k := range p.Tags {
		if k == "" {
			return errors.New("tags: empty tag name")
		}
	}
	if p.profile, err = parseProfile(p.Profile); err != nil {
		return err
	}
	n := 0
	for _, set := range []string{p.EncryptKey, p.EncryptKeyFile, p.EncryptKeyEnv} {
		if set != "" {
			n++
		}
	}
	if n > 1 {
		return errors.New("set only one of encrypt_key, encrypt_key_file and encrypt_key_env")
	}
	switch {
	case p.EncryptKey != "":
		if p.key, err = decodeKey(p.EncryptKey); err != nil {
			return fmt.Errorf("encrypt_key: %w", err)
		}
	case p.EncryptKeyEnv != "":
		v, ok := os.LookupEnv(p.EncryptKeyEnv)
		if !ok {
			return fmt.Errorf("encrypt_key_env: variable %s is not set", p.EncryptKeyEnv)
		}
		if p.key, err = decodeKey(v); err != nil {
			return fmt.Errorf("encrypt_key_env %s: %w", p.EncryptKeyEnv, err)
		}
	}
	if p.RPCAddr == "" {
		p.RPCAddr = DefaultRPCAddr
	}
	if p.RPCAddr != rpcOff {
		if _, _, err := ipPort(p.RPCAddr, -1); err != nil {
			return fmt.Errorf("rpc_addr: %w", err)
		}
		if _, port, _ := ipPort(p.RPCAddr, -1); port < 0 {
			return fmt.Errorf("rpc_addr %q: a port is required", p.RPCAddr)
		}
	}
	if p.LeaveOnStop == nil {
		t := true
		p.LeaveOnStop = &t
	}
	return nil
}

// loadKey reads encrypt_key_file, if set.
func (p *Plugin) loadKey() error {
	if p.EncryptKeyFile == "" {
		return nil
	}
	b, err := os.ReadFile(p.EncryptKeyFile)
	if err != nil {
		return fmt.Errorf("reading encrypt_key_file: %w", err)
	}
	if p.key, err = decodeKey(string(b)); err != nil {
		return fmt.Errorf("encrypt_key_file %s: %w", p.EncryptKeyFile, err)
	}
	return nil
}
