package services

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/corralhq/corral/plugins"
)

// LoadOptions tunes Load and Parse.
type LoadOptions struct {
	// Env looks up container environment variables for ${VAR} expansion
	// (nil: os.LookupEnv).
	Env func(key string) (string, bool)
	// Plugins lists the registered plugin names; a `plugin` key naming
	// another is an error with a suggestion. nil: any name accepted.
	Plugins []string
	// DryRun says the load only answers what would change (a reread): a
	// loader must write nothing (s6-overlay's live directories).
	DryRun bool
	// Known names services defined elsewhere (an s6-overlay tree read
	// beside the TOML files) that after, wants and stdout_to may name.
	Known []string
}

// serviceKeys are the top-level keys of a service file, for suggestions.
var serviceKeys = func() []string {
	var out []string
	for _, f := range structFields(reflect.TypeFor[rawService](), nil) {
		out = append(out, f.name)
	}
	return out
}()

// nameFromPath is a file's default service name: its base name without ".toml".
func nameFromPath(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".toml")
}

// ValidName reports whether s can name a service: letters, digits, '.', '_'
// and '-', starting with a letter or digit.
func ValidName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			return false
		}
	}
	return true
}

// Parse reads one service file. It checks everything that needs no other
// file (after names are checked by Load) and fills every default. Its error
// is an *Error.
func Parse(path string, data []byte, opts LoadOptions) (*Service, error) {
	svc, _, err := parse(path, data, opts)
	return svc, err
}

// parse is Parse that also returns the file's key lines.
func parse(path string, data []byte, opts LoadOptions) (*Service, keyLines, error) {
	p := &parser{
		d:    decoder{file: path, service: nameFromPath(path)},
		opts: opts,
	}
	if p.opts.Env == nil {
		p.opts.Env = os.LookupEnv
	}
	svc, err := p.parse(data)
	if err != nil {
		return nil, nil, err
	}
	return svc, p.d.lines, nil
}

// parser holds the state of one Parse.
type parser struct {
	d    decoder
	opts LoadOptions
}

func (p *parser) errorf(path []string, format string, args ...any) error {
	return p.d.errorf(path, format, args...)
}

func (p *parser) parse(data []byte) (svc *Service, err error) {
	// Bound the decoder's work first: its cost grows faster than the file.
	if le := checkLimits(data); le != nil {
		return nil, le.asError(p.d.file, p.d.service)
	}
	var tree map[string]any
	if err := decodeTOML(data, &tree); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: p.d.file, Line: pe.Position.Line, Service: p.d.service,
				Err: fmt.Errorf("syntax error: %s", pe.Message)}
		}
		return nil, &Error{File: p.d.file, Service: p.d.service, Err: fmt.Errorf("syntax error: %w", err)}
	}
	p.d.lines = scanKeyLines(data)

	// The name first, so that later errors carry it.
	if v, ok := tree["name"]; ok {
		n, ok := v.(string)
		if !ok {
			return nil, p.errorf([]string{"name"}, "expected a string, got %s", tomlType(v))
		}
		if !ValidName(n) {
			return nil, p.errorf([]string{"name"}, "bad service name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", n)
		}
		p.d.service = n
	} else if !ValidName(p.d.service) {
		return nil, &Error{File: p.d.file, Key: "name", Service: p.d.service,
			Err: fmt.Errorf("bad service name %q from the file name: rename the file or set name = \"...\" (letters, digits, '.', '_' and '-', starting with a letter or digit)", p.d.service)}
	}

	// The plugin's own table is the top-level table named after it.
	var pluginTable map[string]any
	if v, ok := tree["plugin"].(string); ok && v != "" && !slices.Contains(serviceKeys, v) {
		if t, ok := tree[v]; ok {
			m, ok := t.(map[string]any)
			if !ok {
				return nil, p.errorf([]string{v}, "the settings of plugin %q must be a table ([%s]), got %s", v, v, tomlType(t))
			}
			pluginTable = m
			delete(tree, v)
		}
	}

	var raw rawService
	if err := p.d.decode(nil, tree, reflect.ValueOf(&raw).Elem()); err != nil {
		return nil, err
	}
	return p.build(&raw, pluginTable)
}

// decodeTOML parses data, turning a panic of the parser into an error.
func decodeTOML(data []byte, tree *map[string]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("toml parser failed: %v", r)
		}
	}()
	_, err = toml.Decode(string(data), tree)
	return err
}

func (p *parser) build(raw *rawService, pluginTable map[string]any) (*Service, error) {
	s := &Service{Name: p.d.service, File: p.d.file}

	// Type and restart policy.
	s.Type = Longrun
	if raw.Type != nil {
		switch *raw.Type {
		case "longrun":
		case "oneshot":
			s.Type = Oneshot
		default:
			return nil, p.errorf([]string{"type"}, "bad type %q: want \"longrun\" or \"oneshot\"%s", *raw.Type, didYouMean(*raw.Type, []string{"longrun", "oneshot"}))
		}
	}
	s.Restart = RestartAlways
	if s.Type == Oneshot {
		s.Restart = RestartNever
	}
	if raw.Restart != nil {
		switch *raw.Restart {
		case "always":
			s.Restart = RestartAlways
		case "on-failure":
			s.Restart = RestartOnFailure
		case "never":
			s.Restart = RestartNever
		default:
			return nil, p.errorf([]string{"restart"}, "bad restart policy %q: want \"always\", \"on-failure\" or \"never\"%s", *raw.Restart, didYouMean(*raw.Restart, []string{"always", "on-failure", "never"}))
		}
	}

	// Environment: expanded from the container's environment only.
	if len(raw.Env) > 0 {
		s.Env = make(map[string]string, len(raw.Env))
		for _, k := range p.d.sortedKeys([]string{"env"}, anyMap(raw.Env)) {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return nil, p.errorf([]string{"env", k}, "bad variable name %q", k)
			}
			v, err := plugins.Expand(raw.Env[k], p.opts.Env)
			if err == nil && strings.ContainsRune(v, 0) {
				err = errors.New("value contains a NUL byte")
			}
			if err != nil {
				return nil, p.d.wrap([]string{"env", k}, err)
			}
			s.Env[k] = v
		}
	}
	// Other strings see the service's env over the container's.
	lookup := func(k string) (string, bool) {
		if v, ok := s.Env[k]; ok {
			return v, true
		}
		return p.opts.Env(k)
	}

	// Command or plugin: exactly one.
	hasCmd, hasPlugin := raw.Command != nil, raw.Plugin != nil
	switch {
	case hasCmd && hasPlugin:
		return nil, p.errorf([]string{"plugin"}, "command and plugin are mutually exclusive: a service runs one or the other")
	case !hasCmd && !hasPlugin:
		return nil, &Error{File: p.d.file, Key: "command", Service: s.Name,
			Err: errors.New("missing: a service needs a command (or a plugin)")}
	case hasCmd:
		cmd, err := p.command([]string{"command"}, raw.Command, lookup)
		if err != nil {
			return nil, err
		}
		s.Command = cmd
	default:
		name := *raw.Plugin
		if name == "" {
			return nil, p.errorf([]string{"plugin"}, "empty plugin name")
		}
		if p.opts.Plugins != nil && !slices.Contains(p.opts.Plugins, name) {
			known := "none are registered"
			if len(p.opts.Plugins) > 0 {
				sorted := slices.Sorted(slices.Values(p.opts.Plugins))
				known = "registered: " + strings.Join(sorted, ", ")
			}
			return nil, p.errorf([]string{"plugin"}, "unknown plugin %q%s; %s", name, didYouMean(name, p.opts.Plugins), known)
		}
		s.Plugin = name
		s.PluginConfig = &PluginConfig{File: p.d.file, Table: name, data: pluginTable, lines: p.d.lines, service: s.Name}
	}

	// After: names checked across files by Load; duplicates dropped in
	// one pass.
	seen := make(map[string]bool, len(raw.After))
	for i, a := range raw.After {
		switch {
		case a == s.Name:
			return nil, p.errorf([]string{"after"}, "service %q cannot come after itself", a)
		case !ValidName(a):
			return nil, p.errorf([]string{"after", fmt.Sprintf("[%d]", i)}, "bad service name %q", a)
		case !seen[a]:
			seen[a] = true
			s.After = append(s.After, a)
		}
	}

	if err := p.lifecycle(raw, s, lookup); err != nil {
		return nil, err
	}

	// User, group, working directory.
	var err error
	if s.User, err = p.idName("user", raw.User); err != nil {
		return nil, err
	}
	if s.Group, err = p.idName("group", raw.Group); err != nil {
		return nil, err
	}
	if s.User != "" {
		if _, err := ResolveCredential(s.User, ""); err != nil {
			return nil, p.d.wrap([]string{"user"}, err)
		}
	}
	cred, err := ResolveCredential(s.User, s.Group)
	if err != nil {
		return nil, p.d.wrap([]string{"group"}, err)
	}
	s.Credential = cred
	if raw.WorkingDir != "" {
		wd, err := plugins.Expand(raw.WorkingDir, lookup)
		if err != nil {
			return nil, p.d.wrap([]string{"working_dir"}, err)
		}
		if !filepath.IsAbs(wd) {
			return nil, p.errorf([]string{"working_dir"}, "working directory %q must be an absolute path", wd)
		}
		s.WorkingDir = wd
	}

	// Signals and durations.
	if s.StopSignal, err = p.signal("stop_signal", raw.StopSignal, "SIGTERM"); err != nil {
		return nil, err
	}
	if s.ReloadSignal, err = p.signal("reload_signal", raw.ReloadSignal, "SIGHUP"); err != nil {
		return nil, err
	}
	s.Essential = raw.Essential
	if s.StopTimeout, err = p.duration([]string{"stop_timeout"}, raw.StopTimeout, DefaultStopTimeout); err != nil {
		return nil, err
	}
	if raw.Timeout != nil && s.Type != Oneshot {
		return nil, p.errorf([]string{"timeout"}, "timeout bounds a oneshot's run and needs type = \"oneshot\" (for readiness use ready.timeout)")
	}
	if s.Timeout, err = p.duration([]string{"timeout"}, raw.Timeout, 0); err != nil {
		return nil, err
	}
	s.MaxRestarts = DefaultMaxRestarts
	if raw.MaxRestarts != nil {
		if *raw.MaxRestarts < 0 {
			return nil, p.errorf([]string{"max_restarts"}, "max_restarts %d must not be negative (0 means no limit)", *raw.MaxRestarts)
		}
		s.MaxRestarts = *raw.MaxRestarts
	}
	if s.RestartWindow, err = p.duration([]string{"restart_window"}, raw.RestartWindow, DefaultRestartWindow); err != nil {
		return nil, err
	}
	if s.RestartWindow == 0 {
		return nil, p.errorf([]string{"restart_window"}, "restart_window must be positive")
	}

	if raw.Ready != nil {
		if s.Type == Oneshot {
			return nil, p.errorf([]string{"ready"}, "a oneshot is ready when it exits 0: [ready] is for longruns")
		}
		if s.Ready, err = p.ready(raw.Ready, lookup); err != nil {
			return nil, err
		}
	}
	if s.Backoff, err = p.backoff(&raw.Backoff); err != nil {
		return nil, err
	}
	if s.Log, err = p.log(&raw.Log); err != nil {
		return nil, err
	}
	s.Hash = hashService(s)
	return s, nil
}

// anyMap converts a map for sortedKeys.
func anyMap[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// command reads a command: an array of strings (argv) or a string run by
// /bin/sh -c. Both are expanded with lookup.
func (p *parser) command(path []string, v any, lookup func(string) (string, bool)) ([]string, error) {
	argv, err := plugins.ParseCommand(v)
	var ee *plugins.ElementError
	switch {
	case errors.As(err, &ee):
		return nil, p.d.wrap(child(path, fmt.Sprintf("[%d]", ee.Index)), ee.Err)
	case err != nil:
		return nil, p.d.wrap(path, err)
	}
	if _, shell := v.(string); shell {
		x, err := plugins.Expand(argv[2], lookup)
		if err != nil {
			return nil, p.d.wrap(path, err)
		}
		argv[2] = x
		return argv, nil
	}
	for i, a := range argv {
		x, err := plugins.Expand(a, lookup)
		if err == nil && strings.ContainsRune(x, 0) {
			err = errors.New("argument contains a NUL byte")
		}
		if err != nil {
			return nil, p.d.wrap(child(path, fmt.Sprintf("[%d]", i)), err)
		}
		argv[i] = x
	}
	return argv, nil
}

// idName reads a user or group: a name, or a numeric id as a string or an integer.
func (p *parser) idName(key string, v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		if v == "" {
			return "", p.errorf([]string{key}, "empty %s", key)
		}
		return v, nil
	case int64:
		if v < 0 || v > math.MaxUint32 {
			return "", p.errorf([]string{key}, "%s id %d is out of range", key, v)
		}
		return strconv.FormatInt(v, 10), nil
	}
	return "", p.errorf([]string{key}, "expected a %s name or numeric id, got %s", key, tomlType(v))
}

// signal reads a signal key, with a default.
func (p *parser) signal(key string, v any, def string) (syscall.Signal, error) {
	if v == nil {
		v = def
	}
	s, err := parseSignal(v)
	if err != nil {
		return 0, p.d.wrap([]string{key}, err)
	}
	return s, nil
}

// duration returns *v, or def when nil; negative durations are errors.
func (p *parser) duration(path []string, v *time.Duration, def time.Duration) (time.Duration, error) {
	if v == nil {
		return def, nil
	}
	if *v < 0 {
		return 0, p.errorf(path, "duration %s must not be negative", *v)
	}
	return *v, nil
}

func (p *parser) ready(r *rawReady, lookup func(string) (string, bool)) (*Ready, error) {
	rd := &Ready{}
	var probes []string
	if r.TCP != nil {
		probes = append(probes, "tcp")
		addr, err := plugins.Expand(*r.TCP, lookup)
		if err != nil {
			return nil, p.d.wrap([]string{"ready", "tcp"}, err)
		}
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			return nil, p.errorf([]string{"ready", "tcp"}, "bad address %q: want host:port, such as \"127.0.0.1:8080\"", addr)
		}
		rd.TCP = addr
	}
	if r.HTTP != nil {
		probes = append(probes, "http")
		raw, err := plugins.Expand(*r.HTTP, lookup)
		if err != nil {
			return nil, p.d.wrap([]string{"ready", "http"}, err)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, p.errorf([]string{"ready", "http"}, "bad URL %q: want http://host:port/path", raw)
		}
		rd.HTTP = raw
	}
	if r.Command != nil {
		probes = append(probes, "command")
		cmd, err := p.command([]string{"ready", "command"}, r.Command, lookup)
		if err != nil {
			return nil, err
		}
		rd.Command = cmd
	}
	if r.NotifyFD != nil {
		probes = append(probes, "notify_fd")
		if *r.NotifyFD < 3 || *r.NotifyFD > 1024 {
			return nil, p.errorf([]string{"ready", "notify_fd"}, "notify_fd %d must be between 3 and 1024 (0-2 are stdin, stdout and stderr)", *r.NotifyFD)
		}
		rd.NotifyFD = *r.NotifyFD
	}
	switch len(probes) {
	case 0:
		return nil, p.errorf([]string{"ready"}, "no probe: set one of tcp, http, command or notify_fd")
	case 1:
	default:
		return nil, p.errorf([]string{"ready", probes[1]}, "more than one probe (%s): set only one of tcp, http, command or notify_fd", strings.Join(probes, ", "))
	}
	var err error
	if rd.Timeout, err = p.duration([]string{"ready", "timeout"}, r.Timeout, DefaultReadyTimeout); err != nil {
		return nil, err
	}
	if rd.Interval, err = p.duration([]string{"ready", "interval"}, r.Interval, DefaultReadyInterval); err != nil {
		return nil, err
	}
	if rd.Interval == 0 {
		return nil, p.errorf([]string{"ready", "interval"}, "ready.interval must be positive")
	}
	return rd, nil
}

func (p *parser) backoff(r *rawBackoff) (Backoff, error) {
	var b Backoff
	var err error
	if b.Initial, err = p.duration([]string{"backoff", "initial"}, r.Initial, DefaultBackoffInitial); err != nil {
		return b, err
	}
	if b.Max, err = p.duration([]string{"backoff", "max"}, r.Max, DefaultBackoffMax); err != nil {
		return b, err
	}
	if b.Reset, err = p.duration([]string{"backoff", "reset"}, r.Reset, DefaultBackoffReset); err != nil {
		return b, err
	}
	if b.Min, err = p.duration([]string{"backoff", "min"}, r.Min, DefaultBackoffMin); err != nil {
		return b, err
	}
	b.Multiplier = DefaultBackoffMult
	if r.Multiplier != nil {
		m := *r.Multiplier
		if math.IsNaN(m) || math.IsInf(m, 0) || m < 1 || m > 1000 {
			return b, p.errorf([]string{"backoff", "multiplier"}, "multiplier %v must be between 1 and 1000", m)
		}
		b.Multiplier = m
	}
	if b.Max < b.Initial || b.Max < b.Min {
		return b, p.errorf([]string{"backoff", "max"}, "backoff.max (%s) must be at least backoff.initial (%s) and backoff.min (%s)", b.Max, b.Initial, b.Min)
	}
	return b, nil
}

func (p *parser) log(r *rawLog) (Log, error) {
	l := Log{Prefix: true, Console: true, Files: true, Timestamps: true, MaxSize: DefaultLogMaxSize, Keep: DefaultLogKeep}
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&l.Prefix, r.Prefix)
	set(&l.Console, r.Console)
	set(&l.Files, r.Files)
	set(&l.Timestamps, r.Timestamps)
	if r.MaxSize != nil {
		n, err := parseSize(r.MaxSize)
		if err != nil {
			return l, p.d.wrap([]string{"log", "max_size"}, err)
		}
		l.MaxSize = n
	}
	if r.Keep != nil {
		if *r.Keep < 0 {
			return l, p.errorf([]string{"log", "keep"}, "keep %d must not be negative", *r.Keep)
		}
		l.Keep = *r.Keep
	}
	return l, nil
}
