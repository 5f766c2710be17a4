package logforward

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/services"
	"github.com/corralhq/corral/supervisor/logfile"
)

// TestSample decodes the embedded sample strictly and validates it.
func TestSample(t *testing.T) {
	var file struct {
		Plugin     string `toml:"plugin"`
		Logforward Config `toml:"logforward"`
	}
	md, err := toml.Decode(Sample, &file)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) != 0 {
		t.Fatalf("sample.conf has keys Config does not know: %v", u)
	}
	if file.Plugin != "logforward" {
		t.Fatalf("plugin = %q", file.Plugin)
	}
	s, err := file.Logforward.validate()
	if err != nil {
		t.Fatal(err)
	}
	if s.proto != TLS || s.ServerName != "logs.example.com" || s.facility != 16 || s.ResendWindow != 2*time.Second {
		t.Fatalf("settings %+v", s)
	}
	f, ok := plugins.Lookup("logforward")
	if !ok {
		t.Fatal("logforward is not registered")
	}
	if _, ok := f().(*Plugin); !ok {
		t.Fatal("the factory does not make a *Plugin")
	}
}

// TestSampleAsServiceFile reads the sample the way corral does: as a
// service file, its [logforward] table decoded strictly into the plugin.
func TestSampleAsServiceFile(t *testing.T) {
	svc, err := services.Parse("/etc/services.d/logforward.toml", []byte(Sample), services.LoadOptions{Plugins: plugins.Names()})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Plugin != "logforward" || svc.PluginConfig == nil {
		t.Fatalf("plugin %q, config %v", svc.Plugin, svc.PluginConfig)
	}
	f := &Plugin{}
	if err := svc.PluginConfig.Decode(f); err != nil {
		t.Fatal(err)
	}
	if f.Address != "logs.example.com:6514" || f.BatchSize != 1<<20 || f.PollInterval != 100*time.Millisecond {
		t.Fatalf("decoded %+v", f.Config)
	}
	if err := f.Provision(newTestHost(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	// A misspelt key is an error naming it.
	bad := strings.Replace(Sample, "batch_size", "batchsize", 1)
	svc, err = services.Parse("/etc/services.d/logforward.toml", []byte(bad), services.LoadOptions{})
	if err == nil {
		err = svc.PluginConfig.Decode(&Plugin{})
	}
	if err == nil || !strings.Contains(err.Error(), "batchsize") {
		t.Fatalf("misspelt key: error %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"no address", Config{}, "address is required"},
		{"bad address", Config{Address: "nohost"}, "missing port"},
		{"bad protocol", Config{Address: "h:1", Protocol: "relp"}, "unknown protocol"},
		{"tls option on tcp", Config{Address: "h:1", CAFile: "x"}, "need protocol"},
		{"cert without key", Config{Address: "h:1", Protocol: "tls", CertFile: "c"}, "go together"},
		{"facility", Config{Address: "h:1", Facility: "nope"}, "unknown facility"},
		{"service name", Config{Address: "h:1", Services: []string{"../x"}}, "bad service name"},
		{"negative", Config{Address: "h:1", PollInterval: -1}, "poll_interval"},
		{"backoff", Config{Address: "h:1", BackoffMin: time.Minute, BackoffMax: time.Second}, "backoff_max"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	// Provision does not prefix its errors with the plugin name: the engine
	// reports them as `key "logforward": ...` already.
	f := &Plugin{}
	if err := f.Provision(newTestHost(t.TempDir())); err == nil || strings.HasPrefix(err.Error(), "logforward: ") {
		t.Fatalf("Provision error %v", err)
	}
}

func TestMarkRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "web.stdout.pos")
	if m, err := loadMark(p); err != nil || m.set {
		t.Fatalf("missing file: %+v %v", m, err)
	}
	for _, name := range []string{"", logfile.ArchiveName(time.Now())} {
		m := mark{pos: logfile.Position{File: logfile.FileID{Dev: 2049, Ino: 1234567}, Name: name,
			Offset: 987654, Fingerprint: 1<<63 + 5, FingerprintLen: 256}, seq: 42, set: true}
		if err := saveMark(p, m); err != nil {
			t.Fatal(err)
		}
		got, err := loadMark(p)
		if err != nil || got != m {
			t.Fatalf("got %+v, %v; want %+v", got, err, m)
		}
	}
	os.WriteFile(p, []byte("garbage"), 0o600)
	if _, err := loadMark(p); err == nil {
		t.Fatal("garbage position file accepted")
	}
}
