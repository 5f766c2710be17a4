package services

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serfConfig is shaped like a plugin's settings.
type serfConfig struct {
	Join     []string          `toml:"join"`
	Bind     netip.AddrPort    `toml:"bind"`
	Interval time.Duration     `toml:"retry_interval"`
	Tags     map[string]string `toml:"tags"`
	Replay   bool              // untagged: matched ignoring case
	Limits   struct {
		Max  int     `toml:"max"`
		Rate float64 `toml:"rate"`
	} `toml:"limits"`
	Extra any `toml:"extra"`
}

// TestPluginConfigDecode decodes a plugin table into a struct.
func TestPluginConfigDecode(t *testing.T) {
	src := `plugin = "serf"

[serf]
join = ["10.0.0.1", "10.0.0.2"]
bind = "127.0.0.1:7946"
retry_interval = "5s"
replay = true
tags = { role = "web" }
extra = [1, "two"]

[serf.limits]
max = 3
rate = 1
`
	s, err := Parse("serf.toml", []byte(src), testOpts())
	if err != nil {
		t.Fatal(err)
	}
	cfg := serfConfig{Interval: time.Minute}
	if err := s.PluginConfig.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	eq(t, cfg.Join, []string{"10.0.0.1", "10.0.0.2"})
	eq(t, cfg.Bind, netip.MustParseAddrPort("127.0.0.1:7946"))
	eq(t, cfg.Interval, 5*time.Second)
	eq(t, cfg.Tags, map[string]string{"role": "web"})
	eq(t, cfg.Replay, true)
	eq(t, cfg.Limits.Max, 3)
	eq(t, cfg.Limits.Rate, 1.0)
	eq(t, cfg.Extra, any([]any{int64(1), "two"}))

	// Without a table, defaults survive.
	s, err = Parse("serf.toml", []byte(`plugin = "serf"`), testOpts())
	if err != nil {
		t.Fatal(err)
	}
	cfg = serfConfig{Interval: time.Minute}
	if err := s.PluginConfig.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	eq(t, cfg.Interval, time.Minute)
	if err := s.PluginConfig.Decode(cfg); err == nil {
		t.Error("Decode into a non-pointer succeeded")
	}
}

// TestPluginConfigErrors compares the errors of bad plugin tables with
// testdata/plugin/<case>.golden.
func TestPluginConfigErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/plugin/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no plugin cases: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(path, data, testOpts())
			if err != nil {
				t.Fatal(err)
			}
			var cfg serfConfig
			err = s.PluginConfig.Decode(&cfg)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error is %T, want *Error: %v", err, err)
			}
			if e.Line == 0 {
				t.Errorf("no line in %v", e)
			}
			checkGolden(t, strings.TrimSuffix(path, ".toml")+".golden", err.Error()+"\n")
		})
	}
}
