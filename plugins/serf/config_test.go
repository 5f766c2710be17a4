package serf

import (
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/plugins/plugintest"
)

// TestConvention checks what every plugin promises: registered under
// Name, Sample decodes strictly and provisions, and the README's Syntax
// section is Sample.
func TestConvention(t *testing.T) {
	plugintest.CheckConvention(t, Name, Sample, "README.md")
	if f, ok := plugins.Lookup(Name); !ok {
		t.Error("serf not registered")
	} else if _, ok := f().(*Plugin); !ok {
		t.Error("the factory does not make a *Plugin")
	}
}

// TestSample provisions the sample with and without its variables set.
func TestSample(t *testing.T) {
	provision := func(h *plugintest.Host) *Plugin {
		t.Helper()
		p := New()
		if err := plugintest.DecodeService(Name, Sample, p); err != nil {
			t.Fatal(err)
		}
		if err := p.Provision(h); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := provision(plugintest.NewHost("web-1", slog.Default()))
	if p.NodeName != "web-1" || p.s.bindPort != 7946 || p.RetryMaxInterval != 30*time.Second || p.GossipInterval != 50*time.Millisecond ||
		p.Tags["port"] != "8080" || p.Tags["role"] != "web" || !*p.LeaveOnStop || p.s.profile != ProfileLAN || p.Coalesce ||
		strings.Join(p.Join, ",") != "ha" || p.KeyringFile != "/var/lib/corral/serf.keyring" {
		t.Errorf("provisioned %+v", p.Config)
	}
	// Docker Swarm: the join target and tags come from the environment.
	h := plugintest.NewHost("c0ffee", slog.Default())
	h.Setenv("SERF_JOIN", "tasks.ha")
	h.Setenv("NODE_NAME", "web.3.x1y2")
	h.Setenv("SERF_ROLE", "backend")
	h.Setenv("PORT", "")
	p = provision(h)
	if strings.Join(p.Join, ",") != "tasks.ha" || p.NodeName != "web.3.x1y2" || p.Tags["role"] != "backend" || p.Tags["port"] != "8080" {
		t.Errorf("from the environment: join %v node %q tags %v", p.Join, p.NodeName, p.Tags)
	}
	if len(p.targets) != 1 || p.targets[0].host != "tasks.ha" || p.targets[0].port != 7946 {
		t.Errorf("join targets %+v", p.targets)
	}
}

// TestProvision checks defaults, expansion and the errors of bad settings.
// Errors do not name the plugin: the engine adds the file and key.
func TestProvision(t *testing.T) {
	key16 := base64.StdEncoding.EncodeToString(make([]byte, 16))
	key10 := base64.StdEncoding.EncodeToString(make([]byte, 10))
	tests := []struct {
		name, toml, err string
		check           func(p *Plugin) bool
	}{
		{"defaults", ``, "", func(p *Plugin) bool {
			return p.NodeName == "host-1" && p.RPCAddr == DefaultRPCAddr && *p.LeaveOnStop && p.GossipInterval == DefaultGossipInterval && !p.Coalesce
		}},
		{"join host names", `join = ["ha", "ha:7000", "10.0.0.1", "[::1]:7946", "lb/ha:7001"]`, "", func(p *Plugin) bool {
			return len(p.targets) == 5 && p.targets[1].port == 7000 && p.targets[3].host == "::1" && p.targets[4].name == "lb" && p.targets[4].port == 7001
		}},
		{"join from env, empty dropped", `join = ["${TEST_SERF_JOIN}", "${TEST_SERF_UNSET}", "${TEST_SERF_UNSET:-seed}"]`, "", func(p *Plugin) bool {
			return strings.Join(p.Join, ",") == "tasks.ha,seed"
		}},
		{"tags from env, empty dropped", "[serf.tags]\nrole = \"${TEST_SERF_ROLE:-web}\"\nport = \"${TEST_SERF_UNSET}\"\nweight = \"$$5\"", "", func(p *Plugin) bool {
			return p.Tags["role"] == "backend" && len(p.Tags) == 2 && p.Tags["weight"] == "$5"
		}},
		{"node name from env", `node_name = "${TEST_SERF_NODE}"`, "", func(p *Plugin) bool { return p.NodeName == "web-7" }},
		{"key inline", `encrypt_key = "` + key16 + `"`, "", func(p *Plugin) bool { return len(p.s.key) == 16 }},
		{"key env", `encrypt_key_env = "TEST_SERF_KEY"`, "", func(p *Plugin) bool { return len(p.s.key) == 16 }},
		{"key env name from env", `encrypt_key_env = "${TEST_SERF_KEYVAR}"`, "", func(p *Plugin) bool { return len(p.s.key) == 16 }},
		{"key file checked at start", `encrypt_key_file = "/nonexistent"`, "", nil},
		{"wan gossip", `profile = "wan"`, "", func(p *Plugin) bool { return p.GossipInterval == 500*time.Millisecond }},
		{"short key", `encrypt_key = "` + key10 + `"`, "encrypt_key: key is 10 bytes, want 16, 24 or 32", nil},
		{"not base64", `encrypt_key = "%%%"`, "encrypt_key: decoding base64 key", nil},
		{"env unset", `encrypt_key_env = "TEST_SERF_UNSET"`, "encrypt_key_env: variable TEST_SERF_UNSET is not set", nil},
		{"env bad", `encrypt_key_env = "TEST_SERF_BADKEY"`, "encrypt_key_env TEST_SERF_BADKEY: decoding base64 key", nil},
		{"two keys", `encrypt_key = "` + key16 + `"` + "\nencrypt_key_env = \"TEST_SERF_KEY\"", "set only one of", nil},
		{"bind host name", `bind = "localhost:7946"`, `bind: "localhost" is not an IP address`, nil},
		{"bind bad port", `bind = "0.0.0.0:99999"`, "bind: bad port", nil},
		{"advertise", `advertise = "10.1.2.3"`, "", func(p *Plugin) bool { return p.s.advAddr == "10.1.2.3" && p.s.advPort == 7946 }},
		{"bad profile", `profile = "fast"`, `unknown profile "fast"`, nil},
		{"bad gossip interval", `gossip_interval = "1ms"`, `gossip_interval 1ms: want 5ms to 10s`, nil},
		{"rpc off", `rpc_addr = "off"`, "", nil},
		{"rpc without port", `rpc_addr = "127.0.0.1"`, "rpc_addr \"127.0.0.1\": a port is required", nil},
		{"retry", `retry_interval = "10s"` + "\n" + `retry_max_interval = "1s"`, "retry_interval 10s and retry_max_interval 1s", nil},
		{"bad join", `join = ["a b"]`, "join: bad address", nil},
		{"empty node in join", `join = ["/ha"]`, "join: empty node name", nil},
		{"empty tag", "[serf.tags]\n\"\" = \"x\"", "tags: empty tag name", nil},
		{"bad reference", `node_name = "${1x}"`, "node_name: bad variable reference", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			if err := plugintest.DecodeService(Name, "plugin = \"serf\"\n[serf]\n"+tt.toml, p); err != nil {
				t.Fatal(err)
			}
			h := plugintest.NewHost("host-1", slog.Default())
			for k, v := range map[string]string{
				"TEST_SERF_KEY": key16, "TEST_SERF_BADKEY": "not base64!", "TEST_SERF_JOIN": "tasks.ha",
				"TEST_SERF_ROLE": "backend", "TEST_SERF_NODE": "web-7", "TEST_SERF_KEYVAR": "TEST_SERF_KEY",
			} {
				h.Setenv(k, v)
			}
			err := p.Provision(h)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.check != nil && !tt.check(p) {
					t.Errorf("provisioned %+v, settings %+v, targets %+v", p.Config, p.s, p.targets)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Fatalf("error %v, want prefix %q", err, tt.err)
			}
		})
	}
}

// TestProfile checks the profile names round trip.
func TestProfile(t *testing.T) {
	for _, p := range []Profile{ProfileLAN, ProfileLocal, ProfileWAN} {
		got, err := parseProfile(p.String())
		if err != nil || got != p {
			t.Errorf("%v: %v %v", p, got, err)
		}
	}
	if ProfileLocal.memberlistConfig().ProbeInterval >= ProfileWAN.memberlistConfig().ProbeInterval {
		t.Error("local profile should probe faster than wan")
	}
}

// TestStartBadKeyFile checks that a missing key file fails Start, named.
func TestStartBadKeyFile(t *testing.T) {
	p := &Plugin{Config: Config{EncryptKeyFile: t.TempDir() + "/missing", RPCAddr: "off", Bind: "127.0.0.1:0"}}
	if err := p.Provision(plugintest.NewHost("x", slog.Default())); err != nil {
		t.Fatal(err)
	}
	err := p.Start(t.Context())
	if err == nil || !strings.HasPrefix(err.Error(), "reading encrypt_key_file") {
		t.Fatalf("error %v", err)
	}
	if err := p.Stop(t.Context()); err != nil {
		t.Fatalf("stop after failed start: %v", err)
	}
}

// slogTo returns a debug-level text logger writing to w without times.
func slogTo(w *strings.Builder) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}
