package cluster

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRuntimeMode runs the balancer as rootfs/ha does (dynamic servers
// added and deleted through HAProxy's runtime API) with three web nodes,
// and walks through a cluster's life: web nodes up before the balancer, a
// join, a graceful leave and a kill -9 under a steady request loop, then the
// Serf CLI, an intruder with the wrong key, a bad template, a failing check,
// a bad service file, a burst of joins and a restart of HAProxy. After each
// step HAProxy's servers (`show stat`) are exactly the alive web members
// (`serf members`), by name, all UP.
func TestRuntimeMode(t *testing.T) {
	c := newCluster(t, 5)
	ha, n1, n2, n3, n4 := c.nw.Node(0), c.nw.Node(1), c.nw.Node(2), c.nw.Node(3), c.nw.Node(4)
	front := "http://" + ha.AddrPort(80) + "/"

	// (4) Web nodes started before the balancer: all served once it is up.
	web1 := c.startWeb(n1, "web1")
	web2 := c.startWeb(n2, "web2")
	waitHealthy(t, "http://"+n1.AddrPort(8080)+"/health", 20*time.Second)
	waitHealthy(t, "http://"+n2.AddrPort(8080)+"/health", 20*time.Second)
	web1.waitRunning(20*time.Second, "webapp")
	web2.waitRunning(20*time.Second, "webapp")
	lb := c.startBalancer(runtimeMode)
	up := time.Now()
	seen := map[string]bool{}
	waitFor(t, 20*time.Second, "web1 and web2 served through HAProxy", func() bool {
		if node, err := get(front); err == nil {
			seen[node] = true
		}
		return seen["web1"] && seen["web2"]
	})
	t.Logf("web nodes started first: both served %s after the balancer was RUNNING", time.Since(up).Round(time.Millisecond))
	wantNames(t, lb.waitNamesFollow(t, 10*time.Second, "web nodes started first"), "web1", "web2")

	t.Run("status all RUNNING", func(t *testing.T) {
		out, code := lb.ctl("status")
		if code != 0 {
			t.Fatalf("supervisorctl status exit %d:\n%s", code, out)
		}
		for _, name := range []string{"haproxy", "haproxy-config", "serf"} {
			if !hasStatusLine(out, name, "RUNNING") {
				t.Errorf("%s not RUNNING:\n%s", name, out)
			}
		}
		t.Logf("supervisorctl status:\n%s", out)
	})

	t.Run("serf members through the embedded agent", func(t *testing.T) {
		m := lb.members()
		for name, addr := range map[string]string{"ha": ha.Addr, "web1": n1.Addr, "web2": n2.Addr} {
			if m[name].Status != "alive" || !strings.HasPrefix(m[name].Addr, addr+":") {
				t.Errorf("serf members: %s = %+v", name, m[name])
			}
		}
		if m["web1"].Tags["role"] != "web" || m["web1"].Tags["port"] != "8080" || m["ha"].Tags["role"] != "balancer" {
			t.Errorf("serf members tags: %+v", m)
		}
	})

	ld := startLoad(t, front, 2, 5*time.Millisecond)

	// (1) A node joins: HAProxy sends it requests.
	var web3 *corral
	t.Run("join", func(t *testing.T) {
		web3 = c.startWeb(n3, "web3")
		healthy := waitHealthy(t, "http://"+n3.AddrPort(8080)+"/health", 20*time.Second)
		waitFor(t, 20*time.Second, "web3 served through HAProxy", func() bool { return !ld.firstServed("web3").IsZero() })
		served := ld.firstServed("web3")
		serfStarted := web3.status()["serf"].Started
		t.Logf("join: web3 served %s after its corral started, %s after its app answered /health, %s after its serf plugin started",
			served.Sub(web3.started).Round(time.Millisecond), served.Sub(healthy).Round(time.Millisecond),
			served.Sub(serfStarted).Round(time.Millisecond))
		// Runtime mode adds the server before writing the file.
		waitFor(t, 10*time.Second, "web3 in the rendered config", func() bool { return lb.hasServer(n3.Addr) })
		wantNames(t, lb.waitNamesFollow(t, 10*time.Second, "after web3's join"), "web1", "web2", "web3")
	})

	// (2) Graceful leave: removed at once, no failed request.
	t.Run("graceful leave", func(t *testing.T) {
		_, _, failedBefore := ld.counts("")
		sent := time.Now()
		web3.signal(syscall.SIGTERM)
		gone := waitFor(t, 10*time.Second, "web3 out of the config", func() bool { return !lb.hasServer(n3.Addr) })
		web3.exited(15 * time.Second)
		time.Sleep(500 * time.Millisecond)
		if st := lb.members()["web3"].Status; st != "left" {
			t.Errorf("web3's status at the balancer = %q, want left", st)
		}
		_, _, failed := ld.counts("")
		t.Logf("graceful leave: out of the config %s after SIGTERM; last request served by web3 %s after SIGTERM; %d failed requests",
			gone.Round(time.Millisecond), ld.lastServed("web3").Sub(sent).Round(time.Millisecond), failed-failedBefore)
		if failed != failedBefore {
			t.Errorf("%d requests failed during the leave: %v", failed-failedBefore, ld.failures()[failedBefore:])
		}
		_, before, _ := ld.counts("web3")
		time.Sleep(300 * time.Millisecond)
		if _, after, _ := ld.counts("web3"); after != before {
			t.Errorf("web3 still served after it left (%d -> %d)", before, after)
		}
		wantNames(t, lb.waitNamesFollow(t, 10*time.Second, "after web3's leave"), "web1", "web2")
	})

	// (3) kill -9 of the whole PID namespace: removed after failure
	// detection; retries, redispatch and health checks keep every request
	// answered meanwhile.
	t.Run("kill -9", func(t *testing.T) {
		_, _, failedBefore := ld.counts("")
		killed := time.Now()
		web2.signal(syscall.SIGKILL)
		// unshare exits once corral is reaped, and the kernel reaps PID 1
		// of a namespace only after every process in it is gone.
		web2.exited(10 * time.Second)
		dead := time.Now()
		// Health checks take it out of rotation well before Serf notices
		// (and retries with redispatch save the requests meanwhile).
		time.Sleep(2 * time.Second)
		lastServed := ld.lastServed("web2")
		gone := waitFor(t, 45*time.Second, "web2 out of the config", func() bool { return !lb.hasServer(n2.Addr) })
		if st := lb.members()["web2"].Status; st != "failed" {
			t.Errorf("web2's status at the balancer = %q, want failed", st)
		}
		_, _, failed := ld.counts("")
		t.Logf("kill -9: last request served by web2 %s after the kill; out of the config %s after the kill (Serf failure detection); %d failed requests",
			lastServed.Sub(killed).Round(time.Millisecond), gone.Round(time.Millisecond), failed-failedBefore)
		if failed != failedBefore {
			t.Errorf("%d requests failed around the kill: %v", failed-failedBefore, ld.failures()[failedBefore:])
		}
		if lastServed.After(dead) {
			t.Errorf("web2 answered %s after its namespace was gone", lastServed.Sub(dead))
		}
		wantNames(t, lb.waitNamesFollow(t, 10*time.Second, "after web2's kill -9"), "web1")
	})

	// (8) A node with the wrong key cannot join.
	t.Run("wrong key", func(t *testing.T) {
		bad := startAgent(t, n4, "intruder", 7946, 7373, newKey(t))
		waitFor(t, 20*time.Second, "the intruder's join attempts to fail 3 times", func() bool {
			return strings.Count(bad.out.String(), "Join failed") >= 3
		})
		if m, ok := lb.members()["intruder"]; ok {
			t.Errorf("intruder known to the balancer: %+v", m)
		}
		if out := n4.Run(t, "serf", "members", "-rpc-addr=127.0.0.1:7373"); strings.Contains(out, "ha ") {
			t.Errorf("intruder sees the balancer:\n%s", out)
		}
		if lb.hasServer(n4.Addr) {
			t.Errorf("intruder in the config: %v", lb.servers())
		}
		wantNames(t, lb.waitNamesFollow(t, 10*time.Second, "with the intruder around"), "web1")
	})

	// (6) A bad template, a failing check and a bad service file: the old
	// config is kept, HAProxy keeps serving, the error is in the status.
	t.Run("bad template", func(t *testing.T) { badTemplate(t, lb, front) })
	t.Run("bad service file", func(t *testing.T) { badServiceFile(t, lb) })

	// (5) A burst of 50 joins with rootfs/ha's wait (50ms, max 500ms):
	// servers added through the runtime API, no reload, no failed request.
	t.Run("burst of 50 joins", func(t *testing.T) {
		const n = 50
		ld := startLoad(t, front, 2, 5*time.Millisecond)
		renders := lb.detailInt("haproxy-config", "renders_total")
		reloads := lb.detailInt("haproxy-config", "reloads_total")
		start := time.Now()
		for i := range n {
			startAgent(t, n1, fmt.Sprintf("burst%02d", i), 8000+i, 9000+i, c.key)
		}
		waitFor(t, 60*time.Second, "51 servers in the config", func() bool { return len(lb.servers()) == n+1 })
		took := time.Since(start)
		time.Sleep(time.Second) // past wait_max: a late render would show
		gotRenders := lb.detailInt("haproxy-config", "renders_total") - renders
		gotReloads := lb.detailInt("haproxy-config", "reloads_total") - reloads
		ld.Stop()
		total, _, failed := ld.counts("")
		t.Logf("burst of %d joins (runtime mode): all in the config %s after the first agent started; %d renders, %d reloads; %d requests meanwhile, %d failed",
			n, took.Round(time.Millisecond), gotRenders, gotReloads, total, failed)
		// The count depends on how spread the joins are against the 50ms
		// quiet time (1-2 renders here); the at-most-3 bound is asserted in
		// TestReloadMode, with the plugin's default wait, where a render
		// costs a reload.
		if gotRenders < 1 || gotRenders > n {
			t.Errorf("%d renders for a burst of %d joins", gotRenders, n)
		}
		if gotReloads != 0 {
			t.Errorf("%d reloads for a burst of joins: only servers changed", gotReloads)
		}
		if failed != 0 {
			t.Errorf("failed requests: %v", ld.failures())
		}
		if names := lb.waitNamesFollow(t, 10*time.Second, "after the burst"); len(names) != n+1 {
			t.Errorf("%d web members alive after the burst, want %d", len(names), n+1)
		}
	})

	// (10) Everything still runs.
	t.Run("status all RUNNING at the end", func(t *testing.T) {
		out, code := lb.ctl("status")
		if code != 0 {
			t.Fatalf("supervisorctl status exit %d:\n%s", code, out)
		}
		for _, name := range []string{"haproxy", "haproxy-config", "serf"} {
			if !hasStatusLine(out, name, "RUNNING") {
				t.Errorf("%s not RUNNING:\n%s", name, out)
			}
		}
	})
	ld.Stop()
	total, served1, failed := ld.counts("web1")
	t.Logf("request loop: %d requests, %d by web1, %d failed", total, served1, failed)
	if failed != 0 {
		t.Errorf("failed requests: %v", ld.failures())
	}

	// (11) HAProxy restarted by corral: it reads the file, which holds the
	// servers the runtime API made, so it comes back with the same ones.
	t.Run("haproxy restarted", func(t *testing.T) {
		before := lb.aliveWebs()
		if out, code := lb.ctl("restart", "haproxy"); code != 0 {
			t.Fatalf("supervisorctl restart haproxy: exit %d\n%s", code, out)
		}
		lb.waitRunning(20*time.Second, "haproxy")
		if srv, err := lb.statServers(); err != nil || len(srv) != len(before) {
			t.Errorf("right after the restart HAProxy has %d servers (%v), want the file's %d", len(srv), err, len(before))
		}
		if names := lb.waitNamesFollow(t, 10*time.Second, "after haproxy's restart"); strings.Join(names, ",") != strings.Join(before, ",") {
			t.Errorf("after the restart %v, before %v", names, before)
		}
		if _, err := get(front); err != nil {
			t.Errorf("not serving after the restart: %v", err)
		}
	})
}

// wantNames fails the test unless got is want.
func wantNames(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("alive web members %v, want %v", got, want)
	}
}

// hasStatusLine reports whether supervisorctl status output has a line for
// name in state.
func hasStatusLine(out, name, state string) bool {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == name && f[1] == state {
			return true
		}
	}
	return false
}
