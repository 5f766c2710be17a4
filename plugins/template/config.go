package template

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/corralhq/corral/plugins"
)

// ReloadMode is how the plugin makes the target service pick up a new file.
type ReloadMode int

// Reload modes.
const (
	// reloadUnset is a reload key left out: it becomes ReloadSignal when
	// service is set, else ReloadNone. An explicit "none" stays none.
	reloadUnset ReloadMode = iota
	// ReloadNone only writes the file.
	ReloadNone
	// ReloadSignal asks the supervisor to reload `service` (its
	// reload_signal, e.g. SIGUSR2 for HAProxy in master-worker mode).
	ReloadSignal
	// ReloadHAProxyMaster sends `reload` on HAProxy's master CLI and
	// confirms it through the reload counter of `show proc`.
	ReloadHAProxyMaster
	// ReloadRuntime makes HAProxy's servers in the managed backend those of
	// the rendered file through its runtime API (dynamic servers: add
	// server, enable; disable, del server once drained), and reloads through
	// the master CLI only when something else in the file changed or the
	// runtime API fails.
	ReloadRuntime
)

// reloadModeNames are the modes' names in service files, by value; the
// unset mode has none.
var reloadModeNames = [...]string{"", "none", "signal", "haproxy-master", "runtime"}

// String returns the name used in service files.
func (m ReloadMode) String() string {
	if m > reloadUnset && int(m) < len(reloadModeNames) {
		return reloadModeNames[m]
	}
	if m == reloadUnset {
		return "unset"
	}
	return fmt.Sprintf("ReloadMode(%d)", int(m))
}

// UnmarshalText reads a mode name.
func (m *ReloadMode) UnmarshalText(b []byte) error {
	for i, n := range reloadModeNames[1:] {
		if string(b) == n {
			*m = ReloadMode(i + 1)
			return nil
		}
	}
	return fmt.Errorf("unknown reload mode %q (want one of %s)", b, strings.Join(reloadModeNames[1:], ", "))
}

// MarshalText writes the mode name.
func (m ReloadMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Defaults.
const (
	// defaultWaitMin is the quiet time after the last event before a render.
	defaultWaitMin = 200 * time.Millisecond
	// defaultWaitMax caps the wait since the first event of a burst.
	defaultWaitMax = 2 * time.Second
	// defaultCheckTimeout bounds the check command.
	defaultCheckTimeout = 10 * time.Second
	// defaultReloadTimeout bounds a reload and its confirmation.
	defaultReloadTimeout = 10 * time.Second
	// defaultPerms are the permissions of the rendered file.
	defaultPerms = 0o644
)

// stagedPlaceholder is replaced by the staged file's path in Check.
const stagedPlaceholder = "{{staged}}"

// Config is the [template] table of a service file.
type Config struct {
	// Source is the path of the Go text/template to render.
	Source string `toml:"source"`
	// Destination is the path of the rendered file.
	Destination string `toml:"destination"`
	// Perms are the permissions of the rendered file (default 0o644).
	Perms uint32 `toml:"perms"`
	// Check is the command run on the staged file before it is installed;
	// "{{staged}}" in an argument is replaced by the staged file's path.
	// Empty: no check.
	Check []string `toml:"check"`
	// CheckTimeout bounds the check command (default 10s).
	CheckTimeout time.Duration `toml:"check_timeout"`
	// WaitMin is the quiet time: each event restarts it (default 200ms).
	WaitMin time.Duration `toml:"wait_min"`
	// WaitMax caps the wait counted from the first event of a burst
	// (default 2s).
	WaitMax time.Duration `toml:"wait_max"`
	// Mode is the reload mode: "none", "signal", "haproxy-master" or
	// "runtime" (default "signal" when Service is set, else "none").
	Mode ReloadMode `toml:"reload"`
	// Service is the service reloaded in "signal" mode.
	Service string `toml:"service"`
	// MasterSocket is HAProxy's master CLI socket (haproxy -W -S <path>),
	// used by "haproxy-master" and by "runtime" as its fallback.
	MasterSocket string `toml:"master_socket"`
	// StatsSocket is HAProxy's stats socket with "level admin" (runtime mode).
	StatsSocket string `toml:"stats_socket"`
	// Backend is the HAProxy backend whose servers runtime mode manages
	// (given to the template as .Backend in every mode).
	Backend string `toml:"backend"`
	// ReloadTimeout bounds a reload and its confirmation (default 10s).
	ReloadTimeout time.Duration `toml:"reload_timeout"`
	// Role keeps only members whose "role" tag (RoleTag) equals it; empty
	// keeps every member. Role, RoleTag, PortTag and Backend may hold
	// ${VAR} references to the container's environment.
	Role string `toml:"role"`
	// RoleTag is the tag compared with Role (default "role").
	RoleTag string `toml:"role_tag"`
	// PortTag is the tag holding a member's service port (default "port").
	PortTag string `toml:"port_tag"`
	// DefaultPort is used for members without the port tag; 0 drops them.
	DefaultPort int `toml:"default_port"`
}

// expand replaces ${VAR} references in the settings deployments vary
// (role, role_tag, port_tag, backend) with values from lookup.
func (s *Config) expand(lookup func(string) (string, bool)) error {
	for _, f := range []struct {
		key string
		v   *string
	}{{"role", &s.Role}, {"role_tag", &s.RoleTag}, {"port_tag", &s.PortTag}, {"backend", &s.Backend}} {
		v, err := plugins.Expand(*f.v, lookup)
		if err != nil {
			return fmt.Errorf("%s: %w", f.key, err)
		}
		*f.v = v
	}
	return nil
}

// applyDefaults fills unset fields.
func (s *Config) applyDefaults() {
	if s.Perms == 0 {
		s.Perms = defaultPerms
	}
	if s.CheckTimeout == 0 {
		s.CheckTimeout = defaultCheckTimeout
	}
	if s.WaitMin == 0 {
		s.WaitMin = defaultWaitMin
	}
	if s.WaitMax == 0 {
		s.WaitMax = defaultWaitMax
	}
	if s.ReloadTimeout == 0 {
		s.ReloadTimeout = defaultReloadTimeout
	}
	if s.Mode == reloadUnset {
		s.Mode = ReloadNone
		if s.Service != "" {
			s.Mode = ReloadSignal
		}
	}
	if s.RoleTag == "" {
		s.RoleTag = "role"
	}
	if s.PortTag == "" {
		s.PortTag = "port"
	}
}

// validate checks the settings without I/O.
func (s *Config) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Source == "" {
		bad("source: missing (the template's path)")
	}
	if s.Destination == "" {
		bad("destination: missing (the rendered file's path)")
	}
	if s.Perms > 0o7777 {
		bad("perms: %#o is not a file mode", s.Perms)
	}
	if s.WaitMin < 0 || s.WaitMax < 0 || s.CheckTimeout < 0 || s.ReloadTimeout < 0 {
		bad("durations must not be negative")
	}
	if s.WaitMax < s.WaitMin {
		bad("wait_max (%s) is shorter than wait_min (%s)", s.WaitMax, s.WaitMin)
	}
	if s.DefaultPort < 0 || s.DefaultPort > 65535 {
		bad("default_port: %d is out of range 0-65535", s.DefaultPort)
	}
	for _, a := range s.Check {
		if strings.ContainsRune(a, 0) {
			bad("check: argument contains a NUL byte")
		}
	}
	switch s.Mode {
	case ReloadSignal:
		if s.Service == "" {
			bad("service: missing (the service to reload in %q mode)", s.Mode)
		}
	case ReloadHAProxyMaster:
		if s.MasterSocket == "" {
			bad("master_socket: missing (needed by reload = %q)", s.Mode)
		}
	case ReloadRuntime:
		if s.MasterSocket == "" {
			bad("master_socket: missing (runtime mode reloads through it when more than servers changed)")
		}
		if s.StatsSocket == "" {
			bad("stats_socket: missing (needed by reload = %q)", s.Mode)
		}
		if s.Backend == "" || !safeToken(s.Backend) {
			bad("backend: %q must be a backend name of [A-Za-z0-9._:-]", s.Backend)
		}
	}
	return errors.Join(errs...)
}

// fileMode returns Perms as an os.FileMode.
func (s *Config) fileMode() os.FileMode { return os.FileMode(s.Perms) & os.ModePerm }
