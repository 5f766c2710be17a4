package template

import (
	"context"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins/plugintest"
)

// newPlugin returns a plugin with settings s.
func newPlugin(s Config) *Plugin {
	p := New()
	p.Config = s
	return p
}

// TestJoinLeave drives the plugin with membership events in each reload
// mode against a real HAProxy and real HTTP backends.
func TestJoinLeave(t *testing.T) {
	for _, mode := range []ReloadMode{ReloadSignal, ReloadHAProxyMaster, ReloadRuntime} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			port := plugintest.FreePort(t)
			s := setupFiles(t, dir, port, haproxyTemplate)
			s.Mode = mode
			s.Service = "haproxy"
			hp := startHAProxy(t, s, port)
			h := newTestHost(t)
			var signals atomic.Int64
			h.SetReload(func(ctx context.Context, name string) error {
				if name != "haproxy" {
					t.Errorf("reload of %q, want haproxy", name)
				}
				signals.Add(1)
				return syscall.Kill(hp.masterPID(), syscall.SIGUSR2)
			})
			p := newPlugin(s)
			startPlugin(t, h, p)
			c := newCluster(h.Bus())
			a := startWebNode(t, 11, "web-a")
			b := startWebNode(t, 12, "web-b")

			c.join(a.member())
			hp.waitServed(t, "web-a", 10*time.Second)
			c.join(b.member())
			hp.waitServed(t, "web-b", 10*time.Second)
			if got := hp.served(20); got["web-a"] == 0 || got["web-b"] == 0 || len(got) != 2 {
				t.Fatalf("with two members, served %v; want both web-a and web-b only", got)
			}
			if got := hp.statNames(t); got != "web-a,web-b" {
				t.Errorf("show stat lists %q, want the members web-a,web-b", got)
			}
			c.leave(a.member())
			eventually(t, 10*time.Second, "web-a to be removed", func() bool {
				got := hp.served(10)
				return got["web-b"] == 10
			})
			eventually(t, 5*time.Second, "web-a's address gone from the config", func() bool {
				cfg, _ := os.ReadFile(s.Destination)
				return !strings.Contains(string(cfg), a.member().Addr)
			})
			if !within(10*time.Second, func() bool { return hp.statNames(t) == "web-b" }) {
				t.Fatalf("show stat lists %q, want web-b only; servers state:\n%s\nconnections:\n%s\nplugin: %+v",
					hp.statNames(t), hp.cli(t, "show servers state web"), hp.cli(t, "show servers conn web"), p.Status())
			}
			if _, err := os.Stat(s.Destination + ".bak"); err != nil {
				t.Errorf("no backup kept: %v", err)
			}
			st := p.Status()
			if !st.Ready {
				t.Errorf("status not ready: %s", st.Description)
			}
			reloads := hp.reloads(t)
			switch mode {
			case ReloadRuntime:
				if reloads != 0 {
					t.Errorf("runtime mode: haproxy reloaded %d times, want 0", reloads)
				}
				if metric(p, "corral_template_runtime_updates_total") < 3 {
					t.Errorf("runtime updates = %v, want >= 3", metric(p, "corral_template_runtime_updates_total"))
				}
			case ReloadHAProxyMaster:
				// Each confirmed reload was seen in the master's counter
				// (the plugin counts it a poll after HAProxy does).
				eventually(t, 5*time.Second, "the plugin to confirm the last reload", func() bool {
					return metric(p, "corral_template_reloads_total") == float64(hp.reloads(t))
				})
				reloads = hp.reloads(t)
				if float64(reloads) != metric(p, "corral_template_reloads_total") || reloads < 3 {
					t.Errorf("master counts %d reloads, plugin confirmed %v; want equal and >= 3", reloads, metric(p, "corral_template_reloads_total"))
				}
			case ReloadSignal:
				if signals.Load() < 3 || metric(p, "corral_template_reloads_total") != float64(signals.Load()) {
					t.Errorf("signals sent %d, reloads counted %v; want equal and >= 3", signals.Load(), metric(p, "corral_template_reloads_total"))
				}
			}
		})
	}
}

// TestCheckFailureKeepsOldFile renders a config HAProxy rejects: the old
// file stays, the error is in Status, and the plugin recovers.
func TestCheckFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	port := plugintest.FreePort(t)
	tmpl := strings.Replace(haproxyTemplate, "backend web\n",
		"backend web\n{{- range .Members }}{{ if eq (index .Tags \"bad\") \"yes\" }}\n    no-such-directive {{ .Name }}{{ end }}{{ end }}\n", 1)
	s := setupFiles(t, dir, port, tmpl)
	s.Mode = ReloadHAProxyMaster
	hp := startHAProxy(t, s, port)
	h := newTestHost(t)
	p := newPlugin(s)
	startPlugin(t, h, p)
	c := newCluster(h.Bus())
	a := startWebNode(t, 31, "web-a")
	c.join(a.member())
	hp.waitServed(t, "web-a", 10*time.Second)
	good, _ := os.ReadFile(s.Destination)

	bad := startWebNode(t, 32, "web-bad").member()
	bad.Tags["bad"] = "yes"
	c.join(bad)
	eventually(t, 10*time.Second, "a check failure", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.st.checkFailures == 1
	})
	if cur, _ := os.ReadFile(s.Destination); string(cur) != string(good) {
		t.Errorf("file changed after a failed check:\n%s", cur)
	}
	st := p.Status()
	if st.Ready || !strings.Contains(st.Description, "check failed") || !strings.Contains(st.Description, "no-such-directive") {
		t.Errorf("status after failed check = %+v; want not ready with the check's error", st)
	}
	if got := hp.served(10); got["web-a"] != 10 {
		t.Errorf("haproxy not serving the old config: %v", got)
	}
	c.leave(bad)
	eventually(t, 10*time.Second, "recovery", func() bool { return p.Status().Ready })
	if m := metric(p, "corral_template_check_failures_total"); m != 1 {
		t.Errorf("check_failures_total = %v, want 1", m)
	}
}

// TestBadTemplate: a template that fails to parse on Reload, or to execute,
// keeps the old file and shows the error; the plugin keeps running.
func TestBadTemplate(t *testing.T) {
	dir := t.TempDir()
	port := plugintest.FreePort(t)
	s := setupFiles(t, dir, port, haproxyTemplate)
	s.Mode = ReloadNone
	s.Check = nil // the last template renders a list, not an HAProxy config
	h := newTestHost(t)
	p := newPlugin(s)
	startPlugin(t, h, p)
	c := newCluster(h.Bus())
	a := startWebNode(t, 41, "web-a")
	c.join(a.member())
	eventually(t, 5*time.Second, "first render", func() bool {
		b, _ := os.ReadFile(s.Destination)
		return strings.Contains(string(b), a.member().Addr)
	})
	good, _ := os.ReadFile(s.Destination)

	// Parse error: Reload fails, old template stays in use.
	os.WriteFile(s.Source, []byte("global\n{{ range .Members }\n"), 0o644)
	if err := p.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "template:") {
		t.Fatalf("Reload with a broken template = %v, want a template: error", err)
	}
	if st := p.Status(); st.Ready || !strings.Contains(st.Description, "parsing template") {
		t.Errorf("status = %+v, want the parse error", st)
	}
	// Execution error: index out of range.
	os.WriteFile(s.Source, []byte("global\n    # {{ (index .Members 1000).Name }}\n"), 0o644)
	if err := p.Reload(context.Background()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	eventually(t, 5*time.Second, "render error in status", func() bool {
		return strings.Contains(p.Status().Description, "rendering template")
	})
	if cur, _ := os.ReadFile(s.Destination); string(cur) != string(good) {
		t.Errorf("file changed after a failed render:\n%s", cur)
	}
	// Events still flow: the plugin did not exit.
	b := startWebNode(t, 42, "web-b")
	os.WriteFile(s.Source, []byte(strings.NewReplacer("@DIR@", dir).Replace("{{ range .Members }}{{ .Name }} {{ .HostPort }}\n{{ end }}")), 0o644)
	if err := p.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.join(b.member())
	eventually(t, 5*time.Second, "render with the fixed template", func() bool {
		cur, _ := os.ReadFile(s.Destination)
		return strings.Contains(string(cur), "web-b ") && p.Status().Ready
	})
}

// TestInjectedNames: names, tags and addresses from the network that carry
// config syntax never reach the file; the members are counted as rejected.
func TestInjectedNames(t *testing.T) {
	dir := t.TempDir()
	port := plugintest.FreePort(t)
	tmpl := strings.Replace(haproxyTemplate, "backend web\n",
		"backend web\n{{- range .Members }}\n    # member {{ .Name }} {{ .HostPort }} {{ index .Tags \"zone\" }}{{ end }}\n", 1)
	s := setupFiles(t, dir, port, tmpl)
	s.Mode = ReloadNone
	h := newTestHost(t)
	p := newPlugin(s)
	startPlugin(t, h, p)
	c := newCluster(h.Bus())
	good := startWebNode(t, 51, "web-good").member()
	evil := func(name, addr string, tags map[string]string) {
		m := good
		m.Name, m.Addr = name, addr
		m.Tags = map[string]string{"role": "web", "port": "8080"}
		for k, v := range tags {
			m.Tags[k] = v
		}
		c.join(m)
	}
	c.join(good)
	evil("x\n    server evil 10.0.0.1:80", "127.0.0.52", nil)
	evil("evil-tag", "127.0.0.53", map[string]string{"zone": "a\n    server evil 10.0.0.1:80"})
	evil("evil-port", "127.0.0.54", map[string]string{"port": "80 backup"})
	evil("evil-addr", "10.0.0.1 backup", nil)
	evil("evil space", "127.0.0.55", nil)
	evil("evil-key", "127.0.0.56", map[string]string{"x y": "1"})
	eventually(t, 5*time.Second, "render with the good member", func() bool {
		b, _ := os.ReadFile(s.Destination)
		return strings.Contains(string(b), "web-good") && p.Status().Detail["rejected_members"] == 6
	})
	cfg, _ := os.ReadFile(s.Destination)
	for _, bad := range []string{"evil", "10.0.0.1", "backup"} {
		if strings.Contains(string(cfg), bad) {
			t.Errorf("config contains %q:\n%s", bad, cfg)
		}
	}
	if n := strings.Count(string(cfg), "    server "); n != 1 {
		t.Errorf("%d servers, want 1 (the good member):\n%s", n, cfg)
	}
	if m := metric(p, "corral_template_rejected_members_total"); m < 6 {
		t.Errorf("rejected_members_total = %v, want >= 6", m)
	}
	out, err := h.Exec(context.Background(), execSpec("haproxy", "-c", "-f", s.Destination))
	if err != nil || !out.Status.Success() {
		t.Errorf("haproxy -c on the result: %v %s", err, out.Output)
	}
}

// TestBurst: 50 joins in quick succession make at most 3 renders.
func TestBurst(t *testing.T) {
	dir := t.TempDir()
	s := setupFiles(t, dir, 1, haproxyTemplate)
	s.Mode = ReloadNone
	s.Check = nil
	s.WaitMin = 100 * time.Millisecond
	s.WaitMax = time.Second
	h := newTestHost(t)
	p := newPlugin(s)
	startPlugin(t, h, p)
	c := newCluster(h.Bus())
	for i := range 50 {
		m := startWebNode(t, 1, "").member()
		m.Name = "node-" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		c.join(m)
		time.Sleep(2 * time.Millisecond)
	}
	eventually(t, 5*time.Second, "50 members rendered", func() bool {
		b, _ := os.ReadFile(s.Destination)
		return strings.Count(string(b), "    server ") == 50
	})
	time.Sleep(300 * time.Millisecond)
	p.mu.Lock()
	renders := p.st.renders
	p.mu.Unlock()
	t.Logf("50 joins -> %d renders", renders)
	if renders < 1 || renders > 3 {
		t.Errorf("renders = %d, want 1..3", renders)
	}
}

// TestMasterNotRunning: with no HAProxy (no master socket) the file is
// installed without an error; HAProxy started later serves from it.
func TestMasterNotRunning(t *testing.T) {
	for _, mode := range []ReloadMode{ReloadHAProxyMaster, ReloadRuntime} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			port := plugintest.FreePort(t)
			s := setupFiles(t, dir, port, haproxyTemplate)
			s.Mode = mode
			h := newTestHost(t)
			p := newPlugin(s)
			startPlugin(t, h, p)
			c := newCluster(h.Bus())
			a := startWebNode(t, 61, "web-a")
			c.join(a.member())
			eventually(t, 5*time.Second, "web-a in the file", func() bool {
				cfg, _ := os.ReadFile(s.Destination)
				return strings.Contains(string(cfg), a.member().Addr)
			})
			time.Sleep(50 * time.Millisecond)
			if st := p.Status(); !st.Ready || strings.Contains(st.Description, "error") {
				t.Errorf("status = %+v, want ready without error", st)
			}
			hp := startHAProxy(t, s, port)
			hp.waitServed(t, "web-a", 5*time.Second)
			if r := hp.reloads(t); r != 0 {
				t.Errorf("master reloads = %d, want 0", r)
			}
		})
	}
}

// TestMasterReloadRetried: a master socket that refuses (stale, or the
// master re-executing) fails the reload at reload_timeout, shows the
// error, and the reload is retried until HAProxy answers and confirms it.
func TestMasterReloadRetried(t *testing.T) {
	dir := t.TempDir()
	port := plugintest.FreePort(t)
	s := setupFiles(t, dir, port, haproxyTemplate)
	s.Mode = ReloadHAProxyMaster
	s.ReloadTimeout = 300 * time.Millisecond
	// A stale socket: the file exists, nobody listens (ECONNREFUSED).
	ln, err := net.Listen("unix", s.MasterSocket)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	h := newTestHost(t)
	p := newPlugin(s)
	startPlugin(t, h, p)
	c := newCluster(h.Bus())
	a := startWebNode(t, 63, "web-a")
	c.join(a.member())
	eventually(t, 5*time.Second, "reload error", func() bool {
		return strings.Contains(p.Status().Description, "reloading haproxy")
	})
	if st := p.Status(); st.Ready {
		t.Errorf("status = %+v, want not ready", st)
	}
	hp := startHAProxy(t, s, port) // replaces the stale socket
	hp.waitServed(t, "web-a", 5*time.Second)
	eventually(t, 10*time.Second, "retried reload", func() bool { return p.Status().Ready })
	if r := hp.reloads(t); r != 1 {
		t.Errorf("master reloads = %d, want 1 (the retry)", r)
	}
}

// TestRuntimeCheckFailureCatchUp: in runtime mode a join is served through
// the runtime API even while the check fails; the file is kept and the error
// shown; once the check passes the file catches up without a reload.
func TestRuntimeCheckFailureCatchUp(t *testing.T) {
	dir := t.TempDir()
	port := plugintest.FreePort(t)
	s := setupFiles(t, dir, port, haproxyTemplate)
	s.Mode = ReloadRuntime
	failFlag := dir + "/fail"
	s.Check = []string{"sh", "-c", "if [ -e " + failFlag + " ]; then echo forced failure; exit 1; fi; exec haproxy -c -f \"$0\"", "{{staged}}"}
	hp := startHAProxy(t, s, port)
	h := newTestHost(t)
	p := newPlugin(s)
	startPlugin(t, h, p)
	c := newCluster(h.Bus())
	a := startWebNode(t, 81, "web-a")
	b := startWebNode(t, 82, "web-b")
	c.join(a.member())
	hp.waitServed(t, "web-a", 10*time.Second)
	eventually(t, 5*time.Second, "web-a in the file", func() bool {
		cfg, _ := os.ReadFile(s.Destination)
		return strings.Contains(string(cfg), a.member().Addr)
	})

	if err := os.WriteFile(failFlag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.join(b.member())
	hp.waitServed(t, "web-b", 10*time.Second)
	eventually(t, 5*time.Second, "the check failure in status", func() bool {
		return strings.Contains(p.Status().Description, "forced failure")
	})
	if cfg, _ := os.ReadFile(s.Destination); strings.Contains(string(cfg), b.member().Addr) {
		t.Fatalf("file has web-b although its check failed:\n%s", cfg)
	}

	os.Remove(failFlag)
	c.publish("member-update", a.member()) // same members: a new pass
	eventually(t, 5*time.Second, "the file to catch up", func() bool {
		cfg, _ := os.ReadFile(s.Destination)
		return strings.Contains(string(cfg), b.member().Addr) && p.Status().Ready
	})
	if r := hp.reloads(t); r != 0 {
		t.Errorf("haproxy reloaded %d times, want 0", r)
	}
	if got := hp.served(20); got["web-a"] == 0 || got["web-b"] == 0 {
		t.Errorf("served %v, want web-a and web-b", got)
	}
}
