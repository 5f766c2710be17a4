package services

import (
	"errors"
	"os"
	"os/user"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestParseDefaults checks that a minimal file gets every default filled in.
func TestParseDefaults(t *testing.T) {
	svc, err := Parse("/etc/services.d/web.toml", []byte(`command = ["web", "--port", "80"]`), testOpts())
	if err != nil {
		t.Fatal(err)
	}
	want := &Service{
		Name:          "web",
		File:          "/etc/services.d/web.toml",
		Hash:          svc.Hash,
		Type:          Longrun,
		Command:       []string{"web", "--port", "80"},
		Restart:       RestartAlways,
		Autostart:     true,
		FinishTimeout: DefaultFinishTimeout,
		StopSignal:    syscall.SIGTERM,
		StopTimeout:   10 * time.Second,
		ReloadSignal:  syscall.SIGHUP,
		MaxRestarts:   10,
		RestartWindow: 60 * time.Second,
		Backoff:       Backoff{Initial: 0, Max: 30 * time.Second, Multiplier: 2, Reset: 10 * time.Second, Min: 100 * time.Millisecond},
		Log:           Log{Prefix: true, Console: true, Files: true, MaxSize: 1000000, Keep: 20, Timestamps: true},
	}
	if !reflect.DeepEqual(svc, want) {
		t.Errorf("got  %+v\nwant %+v", svc, want)
	}
	if len(svc.Hash) != 64 {
		t.Errorf("Hash = %q, want 64 hex digits", svc.Hash)
	}
}

// TestParseFields checks each key's decoding, table by table.
func TestParseFields(t *testing.T) {
	root, err := user.Lookup("root")
	if err != nil {
		t.Fatalf("looking up root: %v", err)
	}
	rootHome := root.HomeDir
	tests := []struct {
		name  string
		file  string
		check func(t *testing.T, s *Service)
	}{
		{"string command runs in sh", `command = "exec web --db $HOST:${PORT}"`, func(t *testing.T, s *Service) {
			eq(t, s.Command, []string{"/bin/sh", "-c", "exec web --db db.internal:5432"})
		}},
		{"argv expanded, $$ and shell text kept", `command = ["web", "$$HOME", "${HOST:-x}", "${NOPE:-dflt}", "$1", "$(date)", "$NOPE"]`, func(t *testing.T, s *Service) {
			eq(t, s.Command, []string{"web", "$HOME", "db.internal", "dflt", "$1", "$(date)", ""})
		}},
		{"env expanded from container, command sees env", "command = [\"web\", \"$URL\"]\n[env]\nURL = \"pg://${HOST}:$PORT\"\nLIT = \"a$$b\"\n", func(t *testing.T, s *Service) {
			eq(t, s.Env, map[string]string{"URL": "pg://db.internal:5432", "LIT": "a$b"})
			eq(t, s.Command, []string{"web", "pg://db.internal:5432"})
		}},
		{"oneshot defaults to never", "type = \"oneshot\"\ncommand = [\"init\"]\ntimeout = \"30s\"\n", func(t *testing.T, s *Service) {
			eq(t, s.Type, Oneshot)
			eq(t, s.Restart, RestartNever)
			eq(t, s.Timeout, 30*time.Second)
		}},
		{"restart on-failure", "command = [\"w\"]\nrestart = \"on-failure\"\n", func(t *testing.T, s *Service) {
			eq(t, s.Restart, RestartOnFailure)
		}},
		{"signal spellings", "command = [\"w\"]\nstop_signal = \"int\"\nreload_signal = 10\n", func(t *testing.T, s *Service) {
			eq(t, s.StopSignal, syscall.SIGINT)
			eq(t, s.ReloadSignal, syscall.SIGUSR1)
		}},
		{"signal short and numeric string", "command = [\"w\"]\nstop_signal = \"QUIT\"\nreload_signal = \"12\"\n", func(t *testing.T, s *Service) {
			eq(t, s.StopSignal, syscall.SIGQUIT)
			eq(t, s.ReloadSignal, syscall.SIGUSR2)
		}},
		{"name key, after deduplicated", "name = \"api\"\ncommand = [\"w\"]\nafter = [\"db\", \"db\", \"cache\"]\n", func(t *testing.T, s *Service) {
			eq(t, s.Name, "api")
			eq(t, s.After, []string{"db", "cache"})
		}},
		{"user root", "command = [\"w\"]\nuser = \"root\"\n", func(t *testing.T, s *Service) {
			if s.Credential == nil {
				t.Fatal("no credential")
			}
			eq(t, s.Credential.UID, uint32(0))
			eq(t, s.Credential.GID, uint32(0))
			eq(t, s.Credential.Home, rootHome)
			if len(s.Credential.Groups) == 0 {
				t.Error("no supplementary groups for root")
			}
		}},
		{"numeric user and group not in passwd", "command = [\"w\"]\nuser = \"4242\"\ngroup = \"4343\"\n", func(t *testing.T, s *Service) {
			eq(t, *s.Credential, Credential{UID: 4242, GID: 4343, Home: "/"})
		}},
		{"integer user and group", "command = [\"w\"]\nuser = 0\ngroup = 4343\n", func(t *testing.T, s *Service) {
			eq(t, s.User, "0")
			eq(t, s.Credential.UID, uint32(0))
			eq(t, s.Credential.GID, uint32(4343))
		}},
		{"group only", "command = [\"w\"]\ngroup = \"root\"\n", func(t *testing.T, s *Service) {
			eq(t, s.Credential.UID, uint32(os.Getuid()))
			eq(t, s.Credential.GID, uint32(0))
		}},
		{"group by name", "command = [\"w\"]\nuser = \"0\"\ngroup = \"root\"\n", func(t *testing.T, s *Service) {
			eq(t, s.Credential.UID, uint32(0))
			eq(t, s.Credential.GID, uint32(0))
		}},
		{"working dir expanded", "command = [\"w\"]\nworking_dir = \"/srv/$HOST\"\n", func(t *testing.T, s *Service) {
			eq(t, s.WorkingDir, "/srv/db.internal")
		}},
		{"ready tcp with defaults", "command = [\"w\"]\n[ready]\ntcp = \"127.0.0.1:${PORT}\"\n", func(t *testing.T, s *Service) {
			eq(t, *s.Ready, Ready{TCP: "127.0.0.1:5432", Timeout: 60 * time.Second, Interval: 100 * time.Millisecond})
		}},
		{"ready http", "command = [\"w\"]\nready = { http = \"http://127.0.0.1:80/health\", timeout = \"5s\", interval = \"1s\" }\n", func(t *testing.T, s *Service) {
			eq(t, *s.Ready, Ready{HTTP: "http://127.0.0.1:80/health", Timeout: 5 * time.Second, Interval: time.Second})
		}},
		{"ready command string", "command = [\"w\"]\nready.command = \"pg_isready\"\n", func(t *testing.T, s *Service) {
			eq(t, s.Ready.Command, []string{"/bin/sh", "-c", "pg_isready"})
		}},
		{"ready notify_fd", "command = [\"w\"]\nready.notify_fd = 3\n", func(t *testing.T, s *Service) {
			eq(t, s.Ready.NotifyFD, 3)
		}},
		{"backoff and limits", "command = [\"w\"]\nmax_restarts = 0\nrestart_window = \"5m\"\n[backoff]\ninitial = \"1s\"\nmax = \"1m\"\nmultiplier = 1.5\nreset = \"30s\"\nmin = \"0s\"\n", func(t *testing.T, s *Service) {
			eq(t, s.MaxRestarts, 0)
			eq(t, s.RestartWindow, 5*time.Minute)
			eq(t, s.Backoff, Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 1.5, Reset: 30 * time.Second})
		}},
		{"integer multiplier", "command = [\"w\"]\nbackoff.multiplier = 3\n", func(t *testing.T, s *Service) {
			eq(t, s.Backoff.Multiplier, 3.0)
		}},
		{"log settings, IEC size", "command = [\"w\"]\n[log]\nprefix = false\nconsole = false\nfiles = false\ntimestamps = false\nkeep = 0\nmax_size = \"10MiB\"\n", func(t *testing.T, s *Service) {
			eq(t, s.Log, Log{MaxSize: 10 << 20, Keep: 0})
		}},
		{"log size integer and SI", "command = [\"w\"]\nlog.max_size = 4096\n", func(t *testing.T, s *Service) {
			eq(t, s.Log.MaxSize, int64(4096))
		}},
		{"log size SI string", "command = [\"w\"]\nlog.max_size = \"1MB\"\n", func(t *testing.T, s *Service) {
			eq(t, s.Log.MaxSize, int64(1000000))
		}},
		{"essential", "command = [\"w\"]\nessential = true\n", func(t *testing.T, s *Service) {
			eq(t, s.Essential, true)
		}},
		{"plugin with table", "plugin = \"serf\"\n[serf]\njoin = [\"10.0.0.1\"]\n", func(t *testing.T, s *Service) {
			eq(t, s.Plugin, "serf")
			eq(t, len(s.Command), 0)
			if s.PluginConfig == nil || s.PluginConfig.Table != "serf" {
				t.Fatalf("PluginConfig = %+v", s.PluginConfig)
			}
		}},
		{"plugin without table", "plugin = \"template\"\n", func(t *testing.T, s *Service) {
			if s.PluginConfig == nil {
				t.Fatal("PluginConfig is nil")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("svc.toml", []byte(tt.file), testOpts())
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func eq[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

// TestParseAnyPlugin checks that nil Plugins accepts any plugin name.
func TestParseAnyPlugin(t *testing.T) {
	if _, err := Parse("x.toml", []byte(`plugin = "whatever"`), LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := Parse("x.toml", []byte(`plugin = "whatever"`), LoadOptions{Plugins: []string{}})
	if err == nil {
		t.Fatal("empty Plugins accepted an unknown plugin")
	}
}

// TestParseDefaultEnv checks that a nil Env reads the process environment.
func TestParseDefaultEnv(t *testing.T) {
	t.Setenv("CORRAL_SERVICES_TEST", "from-env")
	s, err := Parse("x.toml", []byte(`command = ["echo", "${CORRAL_SERVICES_TEST}"]`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, s.Command, []string{"echo", "from-env"})
}

// TestHash checks that the hash follows the definition, after expansion,
// and not the file path.
func TestHash(t *testing.T) {
	parse := func(path, src string, env map[string]string) string {
		t.Helper()
		s, err := Parse(path, []byte(src), LoadOptions{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		if err != nil {
			t.Fatal(err)
		}
		return s.Hash
	}
	base := parse("a/web.toml", `command = ["web", "$X"]`, map[string]string{"X": "1"})
	if h := parse("b/web.toml", "# comment\ncommand = [ \"web\",\n \"$X\" ]\n", map[string]string{"X": "1"}); h != base {
		t.Error("same definition in another file or layout has another hash")
	}
	if h := parse("a/web.toml", `command = ["web", "$X"]`, map[string]string{"X": "2"}); h == base {
		t.Error("a different expansion has the same hash")
	}
	if h := parse("a/web.toml", "command = [\"web\", \"$X\"]\nstop_timeout = \"10s\"\n", map[string]string{"X": "1"}); h != base {
		t.Error("spelling out a default changed the hash")
	}
	if h := parse("a/web.toml", "command = [\"web\", \"$X\"]\nstop_timeout = \"11s\"\n", map[string]string{"X": "1"}); h == base {
		t.Error("a different stop_timeout has the same hash")
	}
	p1 := parse("p.toml", "plugin = \"serf\"\n[serf]\njoin = [\"a\"]\n", nil)
	p2 := parse("p.toml", "plugin = \"serf\"\n[serf]\njoin = [\"b\"]\n", nil)
	if p1 == p2 {
		t.Error("a different plugin table has the same hash")
	}
}

// TestErrorFormat checks the error text and unwrapping.
func TestErrorFormat(t *testing.T) {
	inner := errors.New("boom")
	tests := []struct {
		e    *Error
		want string
	}{
		{&Error{File: "a.toml", Line: 3, Key: "restart", Err: inner}, `a.toml:3: key "restart": boom`},
		{&Error{File: "a.toml", Key: "command", Err: inner}, `a.toml: key "command": boom`},
		{&Error{File: "a.toml", Line: 1, Err: inner}, `a.toml:1: boom`},
	}
	for i, tt := range tests {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			eq(t, tt.e.Error(), tt.want)
			if !errors.Is(tt.e, inner) {
				t.Error("errors.Is does not reach the wrapped error")
			}
		})
	}
}

// TestSuggest checks the nearest-key suggestions.
func TestSuggest(t *testing.T) {
	keys := []string{"restart", "restart_window", "ready", "after", "env", "stop_signal"}
	tests := []struct{ in, want string }{
		{"restrat", "restart"},
		{"Restart", "restart"},
		{"stopsignal", "stop_signal"},
		{"aftr", "after"},
		{"completely_different", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := suggest(tt.in, keys); got != tt.want {
				t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
