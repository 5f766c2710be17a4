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

// TestSampleConfig decodes the embedded sample strictly and provisions it.
func TestSampleConfig(t *testing.T) {
	p := new(Plugin)
	if err := plugintest.DecodeService(Name, SampleConfig, p); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SERF_ENCRYPT_KEY", base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if err := p.Provision(plugintest.NewHost("web-1", slog.Default())); err != nil {
		t.Fatal(err)
	}
	if p.NodeName != "web-1" || p.bindPort != 7946 || p.RetryMaxInterval != 30*time.Second || len(p.key) != 32 ||
		p.Tags["port"] != "8080" || !*p.LeaveOnStop || p.profile != ProfileLAN {
		t.Errorf("provisioned %+v", p)
	}
	if f, ok := plugins.Lookup(Name); !ok {
		t.Error("serf not registered")
	} else if _, ok := f().(*Plugin); !ok {
		t.Error("factory returns the wrong type")
	}
}

// TestProvision checks defaults and the errors of bad settings.
func TestProvision(t *testing.T) {
	key16 := base64.StdEncoding.EncodeToString(make([]byte, 16))
	key10 := base64.StdEncoding.EncodeToString(make([]byte, 10))
	t.Setenv("TEST_SERF_KEY", key16)
	t.Setenv("TEST_SERF_BADKEY", "not base64!")
	tests := []struct {
		name, toml, err string
	}{
		{"defaults", ``, ""},
		{"join host names", `join = ["ha", "ha:7000", "10.0.0.1", "[::1]:7946"]`, ""},
		{"key inline", `encrypt_key = "` + key16 + `"`, ""},
		{"key env", `encrypt_key_env = "TEST_SERF_KEY"`, ""},
		{"key file checked at start", `encrypt_key_file = "/nonexistent"`, ""},
		{"short key", `encrypt_key = "` + key10 + `"`, "serf: encrypt_key: key is 10 bytes, want 16, 24 or 32"},
		{"not base64", `encrypt_key = "%%%"`, "serf: encrypt_key: decoding base64 key"},
		{"env unset", `encrypt_key_env = "TEST_SERF_UNSET"`, "serf: encrypt_key_env: variable TEST_SERF_UNSET is not set"},
		{"env bad", `encrypt_key_env = "TEST_SERF_BADKEY"`, "serf: encrypt_key_env TEST_SERF_BADKEY: decoding base64 key"},
		{"two keys", `encrypt_key = "` + key16 + `"` + "\nencrypt_key_env = \"TEST_SERF_KEY\"", "serf: set only one of"},
		{"bind host name", `bind = "localhost:7946"`, `serf: bind: "localhost" is not an IP address`},
		{"bind bad port", `bind = "0.0.0.0:99999"`, "serf: bind: bad port"},
		{"advertise", `advertise = "10.1.2.3"`, ""},
		{"bad profile", `profile = "fast"`, `serf: unknown profile "fast"`},
		{"rpc off", `rpc_addr = "off"`, ""},
		{"rpc without port", `rpc_addr = "127.0.0.1"`, "serf: rpc_addr \"127.0.0.1\": a port is required"},
		{"retry", `retry_interval = "10s"` + "\n" + `retry_max_interval = "1s"`, "serf: retry_interval 10s and retry_max_interval 1s"},
		{"empty join", `join = [""]`, "serf: join: empty address"},
		{"empty tag", "[serf.tags]\n\"\" = \"x\"", "serf: tags: empty tag name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Plugin
			if err := plugintest.DecodeService(Name, "plugin = \"serf\"\n[serf]\n"+tt.toml, &p); err != nil {
				t.Fatal(err)
			}
			err := p.Provision(plugintest.NewHost("host-1", slog.Default()))
			if tt.err == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if p.NodeName != "host-1" || p.RPCAddr == "" || p.LeaveOnStop == nil {
					t.Errorf("defaults not set: node %q rpc %q", p.NodeName, p.RPCAddr)
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
	p := &Plugin{EncryptKeyFile: t.TempDir() + "/missing", RPCAddr: "off", Bind: "127.0.0.1:0"}
	if err := p.Provision(plugintest.NewHost("x", slog.Default())); err != nil {
		t.Fatal(err)
	}
	err := p.Start(t.Context())
	if err == nil || !strings.HasPrefix(err.Error(), "serf: reading encrypt_key_file") {
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
