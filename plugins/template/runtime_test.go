package template

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins/plugintest"
)

// liveList returns HAProxy's web servers from `show servers state`, as
// sorted "name=ip:port" ("(maint)" appended for servers in maintenance).
func (h *haproxy) liveList(t testing.TB) string {
	t.Helper()
	live, err := parseServersState(h.cli(t, "show servers state web"), "web")
	if err != nil {
		t.Fatal(err)
	}
	var l []string
	for n, s := range live {
		e := n + "=" + s.addr.String()
		if s.draining {
			e += "(maint)"
		}
		l = append(l, e)
	}
	sort.Strings(l)
	return strings.Join(l, " ")
}

// statusOf returns the `show stat` status of server name ("" if absent).
func (h *haproxy) statusOf(t testing.TB, name string) string {
	t.Helper()
	for _, s := range h.stat(t) {
		if s.name == name {
			return s.status
		}
	}
	return ""
}

// sessions returns the current sessions (scur) of server name.
func (h *haproxy) sessions(t testing.TB, name string) string {
	t.Helper()
	for _, l := range strings.Split(h.cli(t, "show stat"), "\n") {
		// pxname,svname,qcur,qmax,scur,...
		if f := strings.Split(l, ","); len(f) > 4 && f[0] == "web" && f[1] == name {
			return f[4]
		}
	}
	return ""
}

// holdSlow sends GET /slow through HAProxy and returns a channel that gets
// the answering node's name (or the error) once it is answered.
func (h *haproxy) holdSlow() <-chan string {
	ch := make(chan string, 1)
	go func() {
		c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/slow", h.port))
		if err != nil {
			ch <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ch <- resp.Status + " " + string(b)
	}()
	return ch
}

// runtimeSetup starts HAProxy and the plugin in runtime mode.
func runtimeSetup(t *testing.T, tmpl string) (*haproxy, *Plugin, *cluster, Config) {
	t.Helper()
	dir := t.TempDir()
	port := plugintest.FreePort(t)
	s := setupFiles(t, dir, port, tmpl)
	s.Mode = ReloadRuntime
	hp := startHAProxy(t, s, port)
	h := newTestHost(t)
	p := newPlugin(s)
	startPlugin(t, h, p)
	return hp, p, newCluster(h.Bus()), s
}

// TestRuntimeDrain: a member that leaves while a request to it is in
// flight: its server goes into maintenance (no new request reaches it), the
// request is answered, and the server is deleted once its connection is
// gone. That connection goes back to the server's idle pool after the
// request (the member's server keeps it open), and HAProxy's own purge is
// an hour away here: the plugin has to make HAProxy drop it (repurgeOps).
// A member that leaves and comes back while its server drains is put
// back in service under the same name; one that comes back at another
// address keeps its name. No reload at all.
func TestRuntimeDrain(t *testing.T) {
	hp, p, c, _ := runtimeSetup(t, strings.Replace(haproxyTemplate, "pool-purge-delay 5s", "pool-purge-delay 1h", 1))
	a := startWebNode(t, 11, "web-a")
	b := startWebNode(t, 12, "web-b")
	c.join(a.member())
	hp.waitServed(t, "web-a", 10*time.Second)
	held := hp.holdSlow() // web-a is the only server
	eventually(t, 5*time.Second, "the held request at web-a", func() bool { return hp.sessions(t, "web-a") == "1" })
	c.join(b.member())
	hp.waitServed(t, "web-b", 10*time.Second)

	c.leave(a.member())
	eventually(t, 5*time.Second, "web-a in maintenance", func() bool { return hp.statusOf(t, "web-a") == "MAINT" })
	if got := hp.served(20); got["web-b"] != 20 {
		t.Errorf("while web-a drains, served %v; want web-b only", got)
	}
	time.Sleep(300 * time.Millisecond) // a few sweeps: the held connection keeps it
	if got := hp.statNames(t); got != "web-a,web-b" {
		t.Errorf("while its request is in flight, show stat lists %q, want web-a (draining) and web-b", got)
	}
	if st := p.Status(); !strings.Contains(st.Description, "1 draining") || st.Detail["draining"] != 1 {
		t.Errorf("status = %q %v, want 1 draining", st.Description, st.Detail["draining"])
	}
	a.answerSlow()
	select {
	case got := <-held:
		if got != "200 OK web-a" {
			t.Errorf("the request in flight during the leave got %q, want 200 from web-a", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held request was not answered")
	}
	eventually(t, 15*time.Second, "web-a deleted once drained", func() bool { return hp.statNames(t) == "web-b" })

	// web-b leaves with a request in flight, and comes back while it drains.
	held = hp.holdSlow()
	eventually(t, 5*time.Second, "the held request at web-b", func() bool { return hp.sessions(t, "web-b") == "1" })
	c.leave(b.member())
	eventually(t, 5*time.Second, "web-b in maintenance", func() bool { return hp.statusOf(t, "web-b") == "MAINT" })
	c.join(b.member())
	hp.waitServed(t, "web-b", 5*time.Second)
	if got := hp.liveList(t); got != "web-b="+b.srv.Listener.Addr().String() {
		t.Errorf("servers after the rejoin: %s; want web-b once, in service", got)
	}
	b.answerSlow()
	if got := <-held; got != "200 OK web-b" {
		t.Errorf("the request in flight during leave and rejoin got %q", got)
	}

	// web-a comes back at another address, then moves again.
	a2 := startWebNode(t, 13, "web-a")
	c.join(a2.member())
	hp.waitServed(t, "web-a", 5*time.Second)
	a3 := startWebNode(t, 14, "web-a")
	c.publish("member-update", a3.member())
	eventually(t, 5*time.Second, "web-a at its new address", func() bool {
		return hp.liveList(t) == "web-a="+a3.srv.Listener.Addr().String()+" web-b="+b.srv.Listener.Addr().String()
	})
	if r := hp.reloads(t); r != 0 {
		t.Errorf("haproxy reloaded %d times, want 0", r)
	}
}

// TestRuntimeIdentical: the servers added and deleted through the runtime
// API are the file's: a reload (the plugin's Reload: through the master
// CLI) and a restart of HAProxy come back with the same ones. A new plugin
// instance (the plugin restarted) reads HAProxy's servers back and changes
// only what differs, without a reload: a server added behind its back is
// deleted, a member that joined meanwhile is added.
func TestRuntimeIdentical(t *testing.T) {
	hp, p, c, s := runtimeSetup(t, haproxyTemplate)
	var nodes []*webNode
	for i, n := range []string{"web-a", "web-b", "web-c", "web-d"} {
		nodes = append(nodes, startWebNode(t, 31+i, n))
		c.join(nodes[i].member())
	}
	c.leave(nodes[1].member())
	hp.waitServed(t, "web-d", 10*time.Second)
	eventually(t, 5*time.Second, "web-b gone", func() bool { return hp.statNames(t) == "web-a,web-c,web-d" })
	before := hp.liveList(t)
	if r := hp.reloads(t); r != 0 {
		t.Fatalf("haproxy reloaded %d times before the test's reload", r)
	}

	if err := p.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the forced reload", func() bool { return hp.reloads(t) == 1 })
	eventually(t, 5*time.Second, "the reloaded worker's servers", func() bool { return hp.liveList(t) == before })

	hp.kill(9)
	if err := hp.run(); err != nil {
		t.Fatal(err)
	}
	if got := hp.liveList(t); got != before {
		t.Errorf("HAProxy restarted from the file has %s, before the restart %s", got, before)
	}

	// A new plugin instance: HAProxy has a stray server, and web-e joined.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	hp.cli(t, "add server web/stray 127.0.0.1:1")
	e := startWebNode(t, 35, "web-e")
	c.join(e.member())
	h2 := newTestHost(t)
	h2.SetBus(c.bus)
	p2 := newPlugin(s)
	startPlugin(t, h2, p2)
	hp.waitServed(t, "web-e", 10*time.Second)
	eventually(t, 5*time.Second, "the stray server deleted", func() bool { return hp.statNames(t) == "web-a,web-c,web-d,web-e" })
	if r := hp.reloads(t); r != 0 {
		t.Errorf("the new plugin instance reloaded haproxy %d times, want 0", r)
	}
	if got := metric(p2, "corral_template_runtime_updates_total"); got != 1 {
		t.Errorf("runtime updates of the new instance = %v, want 1", got)
	}
	cfg, _ := os.ReadFile(s.Destination)
	if strings.Contains(string(cfg), "stray") || !strings.Contains(string(cfg), "server web-e "+e.srv.Listener.Addr().String()) {
		t.Errorf("file does not hold the servers:\n%s", cfg)
	}
}

// TestRuntimeReloadFallbacks: in runtime mode a file change beyond the
// backend's server lines is applied by a reload, and so is a server
// keyword that HAProxy 2.6 refuses on `add server` ("cookie"); either way
// HAProxy's servers end up named after the members.
func TestRuntimeReloadFallbacks(t *testing.T) {
	for name, tmpl := range map[string]string{
		"count in a comment": strings.Replace(haproxyTemplate, "global\n", "global\n    # {{ len .Members }} members\n", 1),
		"cookie keyword":     strings.Replace(haproxyTemplate, "check inter 1s", "check inter 1s cookie {{ .Name }}", 1),
	} {
		t.Run(name, func(t *testing.T) {
			hp, p, c, _ := runtimeSetup(t, tmpl)
			a := startWebNode(t, 41, "web-a")
			b := startWebNode(t, 42, "web-b")
			c.join(a.member())
			hp.waitServed(t, "web-a", 10*time.Second)
			c.join(b.member())
			hp.waitServed(t, "web-b", 10*time.Second)
			if got := hp.statNames(t); got != "web-a,web-b" {
				t.Errorf("show stat lists %q, want web-a,web-b", got)
			}
			eventually(t, 5*time.Second, "two reloads", func() bool { return hp.reloads(t) >= 2 })
			if st := p.Status(); !st.Ready {
				t.Errorf("status %q, want ready", st.Description)
			}
		})
	}
}

// TestRuntimeRecheck: the plugin found HAProxy not running and installed
// the file, but HAProxy then starts from the previous file (it was already
// reading it): the plugin looks again and adds the missing server, with no
// further membership event.
func TestRuntimeRecheck(t *testing.T) {
	dir := t.TempDir()
	port := plugintest.FreePort(t)
	s := setupFiles(t, dir, port, haproxyTemplate)
	s.Mode = ReloadRuntime
	previous := filepath.Join(dir, "previous.cfg")
	b, err := os.ReadFile(s.Destination)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(previous, b, 0o644); err != nil {
		t.Fatal(err)
	}
	h := newTestHost(t)
	p := newPlugin(s)
	startPlugin(t, h, p)
	c := newCluster(h.Bus())
	a := startWebNode(t, 51, "web-a")
	c.join(a.member())
	eventually(t, 5*time.Second, "web-a in the file", func() bool {
		cfg, _ := os.ReadFile(s.Destination)
		return strings.Contains(string(cfg), "server web-a ")
	})
	old := s
	old.Destination = previous
	hp := startHAProxy(t, old, port)
	if got := hp.statNames(t); got != "" {
		t.Fatalf("HAProxy from the previous file has servers %q", got)
	}
	hp.waitServed(t, "web-a", 10*time.Second)
	if r := hp.reloads(t); r != 0 {
		t.Errorf("haproxy reloaded %d times, want 0", r)
	}
}
