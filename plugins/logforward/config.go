package logforward

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Protocol is the transport to the collector.
type Protocol int

const (
	// TCP sends RFC 5424 messages with octet-counting framing (RFC 6587).
	TCP Protocol = iota
	// TLS is TCP wrapped in TLS (RFC 5425).
	TLS
	// UDP sends one message per datagram (RFC 5426); best effort.
	UDP
)

// String returns the TOML spelling of p.
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case TLS:
		return "tls"
	case UDP:
		return "udp"
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

// parseProtocol reads a protocol name.
func parseProtocol(s string) (Protocol, error) {
	switch strings.ToLower(s) {
	case "", "tcp":
		return TCP, nil
	case "tls":
		return TLS, nil
	case "udp":
		return UDP, nil
	}
	return 0, fmt.Errorf("unknown protocol %q (want tcp, tls or udp)", s)
}

// Defaults for zero settings.
const (
	defaultBatchSize    = 1 << 20
	defaultPoll         = 100 * time.Millisecond
	defaultScan         = time.Second
	defaultDialTimeout  = 5 * time.Second
	defaultWriteTimeout = 30 * time.Second
	defaultBackoffMin   = 100 * time.Millisecond
	defaultBackoffMax   = 30 * time.Second
	defaultResendWindow = 2 * time.Second
)

// facilities maps syslog facility names to codes.
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// Config is the [logforward] table of a service file.
type Config struct {
	// Address is the collector's host:port (required).
	Address string `toml:"address"`
	// Protocol is "tcp" (default), "tls" or "udp".
	Protocol string `toml:"protocol"`
	// Services lists the services whose logs are forwarded; empty means
	// every service with a directory under the log dir, new ones included.
	Services []string `toml:"services"`
	// Exclude lists services not to forward (applied after Services).
	Exclude []string `toml:"exclude"`
	// CAFile is a PEM bundle to verify the collector's certificate with
	// (tls; default: the system roots).
	CAFile string `toml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and key (tls; optional).
	CertFile string `toml:"cert_file"`
	// KeyFile is the client certificate's key.
	KeyFile string `toml:"key_file"`
	// ServerName is the name checked in the collector's certificate
	// (tls; default: the host part of Address).
	ServerName string `toml:"server_name"`
	// Facility is the syslog facility of every message (default "user").
	Facility string `toml:"facility"`
	// StateDir holds the saved positions (default <log dir>/.logforward).
	StateDir string `toml:"state_dir"`
	// BatchSize bounds, in bytes, what is sent but not yet acknowledged by
	// the collector's TCP stack and saved to disk; it also bounds the
	// duplicates after a crash (default 1 MiB).
	BatchSize int `toml:"batch_size"`
	// PollInterval is how often idle files are checked for new lines (default 100ms).
	PollInterval time.Duration `toml:"poll_interval"`
	// ScanInterval is how often the log dir is scanned for new services (default 1s).
	ScanInterval time.Duration `toml:"scan_interval"`
	// DialTimeout bounds a connection attempt, TLS handshake included (default 5s).
	DialTimeout time.Duration `toml:"dial_timeout"`
	// WriteTimeout is how long the collector may take no data before the
	// connection is dropped and made again (default 30s).
	WriteTimeout time.Duration `toml:"write_timeout"`
	// BackoffMin and BackoffMax bound the jittered wait between connection
	// attempts (defaults 100ms and 30s).
	BackoffMin time.Duration `toml:"backoff_min"`
	// BackoffMax is the longest wait between connection attempts.
	BackoffMax time.Duration `toml:"backoff_max"`
	// ResendWindow is how far back lines are sent again after a lost
	// connection: what the collector's kernel acknowledged in that window
	// may never have been read by the collector (default 2s).
	ResendWindow time.Duration `toml:"resend_window"`
}

// settings is Config validated, with defaults filled in.
type settings struct {
	Config
	proto    Protocol
	facility int
}

// validate checks c and fills defaults; it does no I/O.
func (c Config) validate() (settings, error) {
	s := settings{Config: c}
	var err error
	if s.proto, err = parseProtocol(c.Protocol); err != nil {
		return s, err
	}
	if c.Address == "" {
		return s, errors.New("address is required")
	}
	host, _, err := net.SplitHostPort(c.Address)
	if err != nil {
		return s, fmt.Errorf("address %q: %w", c.Address, err)
	}
	if s.Facility == "" {
		s.Facility = "user"
	}
	f, ok := facilities[strings.ToLower(s.Facility)]
	if !ok {
		return s, fmt.Errorf("unknown facility %q", s.Facility)
	}
	s.facility = f
	if s.proto != TLS && (c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != "") {
		return s, errors.New("ca_file, cert_file, key_file and server_name need protocol = \"tls\"")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return s, errors.New("cert_file and key_file go together")
	}
	if s.proto == TLS && s.ServerName == "" {
		s.ServerName = host
	}
	for _, n := range append(append([]string{}, c.Services...), c.Exclude...) {
		if n == "" || strings.ContainsAny(n, "/\x00") || strings.HasPrefix(n, ".") {
			return s, fmt.Errorf("bad service name %q", n)
		}
	}
	def := func(d *time.Duration, v time.Duration, name string) error {
		if *d < 0 {
			return fmt.Errorf("%s must not be negative", name)
		}
		if *d == 0 {
			*d = v
		}
		return nil
	}
	for _, d := range []struct {
		p    *time.Duration
		v    time.Duration
		name string
	}{
		{&s.PollInterval, defaultPoll, "poll_interval"},
		{&s.ScanInterval, defaultScan, "scan_interval"},
		{&s.DialTimeout, defaultDialTimeout, "dial_timeout"},
		{&s.WriteTimeout, defaultWriteTimeout, "write_timeout"},
		{&s.BackoffMin, defaultBackoffMin, "backoff_min"},
		{&s.BackoffMax, defaultBackoffMax, "backoff_max"},
		{&s.ResendWindow, defaultResendWindow, "resend_window"},
	} {
		if err := def(d.p, d.v, d.name); err != nil {
			return s, err
		}
	}
	if s.BackoffMax < s.BackoffMin {
		return s, errors.New("backoff_max is less than backoff_min")
	}
	if s.BatchSize < 0 {
		return s, errors.New("batch_size must not be negative")
	}
	if s.BatchSize == 0 {
		s.BatchSize = defaultBatchSize
	}
	if s.BatchSize < 64<<10 {
		s.BatchSize = 64 << 10 // room for one whole line
	}
	return s, nil
}
