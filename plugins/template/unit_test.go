package template

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
)

// TestValidate: each rule of validate, on settings with defaults applied.
func TestValidate(t *testing.T) {
	base := func() Config {
		return Config{Source: "a", Destination: "b"}
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" = valid
	}{
		{"minimal", func(s *Config) {}, ""},
		{"no source", func(s *Config) { s.Source = "" }, "source: missing"},
		{"signal without service", func(s *Config) { s.Mode = ReloadSignal }, "service: missing"},
		{"service implies signal", func(s *Config) { s.Service = "haproxy" }, ""},
		{"master without socket", func(s *Config) { s.Mode = ReloadHAProxyMaster }, "master_socket"},
		{"runtime without stats", func(s *Config) { s.Mode = ReloadRuntime; s.MasterSocket = "m"; s.Backend = "web" }, "stats_socket"},
		{"runtime bad backend", func(s *Config) {
			s.Mode = ReloadRuntime
			s.MasterSocket, s.StatsSocket, s.Backend = "m", "s", "web x"
		}, "backend"},
		{"wait max < min", func(s *Config) { s.WaitMin, s.WaitMax = time.Second, time.Millisecond }, "wait_max"},
		{"perms", func(s *Config) { s.Perms = 0o17777 }, "perms"},
		{"runtime without master", func(s *Config) { s.Mode = ReloadRuntime; s.StatsSocket = "s"; s.Backend = "web" }, "master_socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.edit(&s)
			s.applyDefaults()
			err := s.validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("validate = %v, want error with %q", err, tt.want)
			}
		})
	}
}

func TestReloadModeText(t *testing.T) {
	for _, m := range []ReloadMode{ReloadNone, ReloadSignal, ReloadHAProxyMaster, ReloadRuntime} {
		var got ReloadMode
		if err := got.UnmarshalText([]byte(m.String())); err != nil || got != m {
			t.Errorf("round trip of %v: %v %v", m, got, err)
		}
	}
	var m ReloadMode
	if err := m.UnmarshalText([]byte("usr2")); err == nil {
		t.Error("unknown mode accepted")
	}
}

func TestMembers(t *testing.T) {
	s := Config{Role: "web"}
	s.applyDefaults()
	mk := func(name, addr string, tags ...string) plugins.Member {
		m := plugins.Member{Name: name, Addr: addr, Status: "alive", Tags: map[string]string{"role": "web", "port": "80"}}
		for i := 0; i+1 < len(tags); i += 2 {
			m.Tags[tags[i]] = tags[i+1]
		}
		return m
	}
	alive := []plugins.Member{
		mk("b", "10.0.0.2"),
		mk("a", "::ffff:10.0.0.1", "port", "8080"),
		mk("v6", "fd00::1"),
		mk("db", "10.0.0.3", "role", "db"),
		mk("gone", "10.0.0.4"),
		mk("x\n    server evil 10.0.0.1:80", "10.0.0.5"),
		mk("tag", "10.0.0.6", "zone", "a b"),
		mk("port0", "10.0.0.7", "port", "0"),
		mk("port-big", "10.0.0.7", "port", "65536"),
		mk("host", "example.com"),
		mk("zone", "fe80::1%eth0"),
		mk("b", "10.0.0.9"),
		mk("", "10.0.0.10"),
		mk(strings.Repeat("n", 300), "10.0.0.11"),
	}
	alive[4].Status = "failed"
	got, rej, _ := s.members(alive)
	var names []string
	for _, m := range got {
		names = append(names, m.Name+"="+m.HostPort)
	}
	want := []string{"a=10.0.0.1:8080", "b=10.0.0.2:80", "v6=[fd00::1]:80"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("members = %v, want %v", names, want)
	}
	if len(rej) != 9 {
		t.Errorf("%d rejections, want 9: %v", len(rej), rej)
	}
	for _, r := range rej {
		if strings.Contains(r.name, "\n") {
			t.Errorf("rejection name not quoted: %s", r.name)
		}
	}
}

func TestParseShowProc(t *testing.T) {
	// Output of HAProxy 2.6.12's master CLI.
	out := "#<PID>          <type>          <reloads>       <uptime>        <version>      \n" +
		"7141            master          3 [failed: 1]   0d00h10m10s     2.6.12-1+deb12u4\n# workers\n" +
		"7144            worker          0               0d00h10m10s     2.6.12-1+deb12u4\n# programs\n\n"
	c, err := parseShowProc(out)
	if err != nil || c.reloads != 3 || c.failed != 1 {
		t.Errorf("parseShowProc = %+v, %v; want 3 reloads, 1 failed", c, err)
	}
	if _, err := parseShowProc("Unknown command\n"); err == nil {
		t.Error("no error without a master line")
	}
}

func TestRenderHelpers(t *testing.T) {
	h := newTestHost(t)
	h.Setenv("TEMPLATE_TEST", "env-ok")
	tm, err := parseTemplate("t", `{{ range .Members }}{{ .Name | upper }} {{ tag . "w" "1" }} {{ default "x" (index .Tags "z") }}{{ end }} {{ env "TEMPLATE_TEST" }}{{ env "TEMPLATE_UNSET_VAR" }}`, h.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := render(tm, &Data{Members: []Member{{Name: "a", Tags: map[string]string{"z": "zz"}}}})
	if err != nil || string(out) != "A 1 zz env-ok" {
		t.Errorf("render = %q, %v", out, err)
	}
}

// TestStopWithoutStart: Stop after a failed Start (missing template)
// returns at once, twice.
func TestStopWithoutStart(t *testing.T) {
	h := newTestHost(t)
	p := newPlugin(Config{Source: t.TempDir() + "/missing.tmpl", Destination: t.TempDir() + "/out"})
	if err := p.Provision(h); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "template: reading template") {
		t.Fatalf("Start with a missing template = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for range 2 {
		if err := p.Stop(ctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
	}
}

// TestMembersLeftOutForRole: a member of another role is not in the data,
// and the reason names the tag, its value and the role wanted (logged once
// per member by the plugin).
func TestMembersLeftOutForRole(t *testing.T) {
	s := &Config{Role: "web", RoleTag: "role", PortTag: "port", DefaultPort: 80}
	got, rej, skipped := s.members([]plugins.Member{
		{Name: "web1", Addr: "10.0.0.1", Tags: map[string]string{"role": "web"}, Status: "alive"},
		{Name: "lab1", Addr: "10.0.0.2", Tags: map[string]string{"role": "backend"}, Status: "alive"},
	})
	if len(got) != 1 || got[0].Name != "web1" || len(rej) != 0 {
		t.Fatalf("members %+v, rejected %+v", got, rej)
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0].reason, `"role" is "backend", not the role "web"`) {
		t.Fatalf("skipped %+v", skipped)
	}
}
