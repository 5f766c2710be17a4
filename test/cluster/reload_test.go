package cluster

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReloadMode runs the balancer with the image's template, every change
// applied by reloading HAProxy through its master CLI: a join and a
// graceful leave under a steady request loop, a node whose name tries to
// inject a server into the config, and a burst of 50 joins; HAProxy's
// servers are named after the alive members after each.
func TestReloadMode(t *testing.T) {
	c := newCluster(t, 3)
	ha, n1, n2 := c.nw.Node(0), c.nw.Node(1), c.nw.Node(2)
	front := "http://" + ha.AddrPort(80) + "/"

	lb := c.startBalancer(reloadMode)
	c.startWeb(n1, "web1")
	waitFor(t, 20*time.Second, "web1 served through HAProxy", func() bool {
		node, err := get(front)
		return err == nil && node == "web1"
	})
	ld := startLoad(t, front, 2, 5*time.Millisecond)

	t.Run("join and graceful leave", func(t *testing.T) {
		reloads := lb.detailInt("haproxy-config", "reloads_total")
		web2 := c.startWeb(n2, "web2")
		healthy := waitHealthy(t, "http://"+n2.AddrPort(8080)+"/health", 20*time.Second)
		waitFor(t, 20*time.Second, "web2 served through HAProxy", func() bool { return !ld.firstServed("web2").IsZero() })
		served := ld.firstServed("web2")
		serfStarted := web2.status()["serf"].Started
		t.Logf("join (reload mode): web2 served %s after its corral started, %s after its app answered /health, %s after its serf plugin started",
			served.Sub(web2.started).Round(time.Millisecond), served.Sub(healthy).Round(time.Millisecond),
			served.Sub(serfStarted).Round(time.Millisecond))
		if !strings.Contains(lb.config(), "server web2 "+n2.AddrPort(8080)+" check") {
			t.Errorf("web2 not in the config:\n%s", lb.servers())
		}
		wantNames(t, lb.waitNamesFollow(t, 10*time.Second, "after web2's join (reload mode)"), "web1", "web2")

		_, _, failedBefore := ld.counts("")
		sent := time.Now()
		web2.signal(syscall.SIGTERM)
		gone := waitFor(t, 10*time.Second, "web2 out of the config", func() bool { return !lb.hasServer(n2.Addr) })
		web2.exited(15 * time.Second)
		time.Sleep(500 * time.Millisecond)
		if st := lb.members()["web2"].Status; st != "left" {
			t.Errorf("web2's status at the balancer = %q, want left", st)
		}
		_, _, failed := ld.counts("")
		t.Logf("graceful leave (reload mode): out of the config %s after SIGTERM; last request served by web2 %s after SIGTERM; %d failed requests; %d reloads",
			gone.Round(time.Millisecond), ld.lastServed("web2").Sub(sent).Round(time.Millisecond), failed-failedBefore,
			lb.detailInt("haproxy-config", "reloads_total")-reloads)
		if failed != failedBefore {
			t.Errorf("%d requests failed during the join and leave: %v", failed-failedBefore, ld.failures()[failedBefore:])
		}
		if got := lb.detailInt("haproxy-config", "reloads_total") - reloads; got < 2 {
			t.Errorf("%d confirmed reloads for a join and a leave, want 2 or more", got)
		}
		wantNames(t, lb.waitNamesFollow(t, 10*time.Second, "after web2's leave (reload mode)"), "web1")
	})

	// (7) A member name carrying HAProxy syntax never reaches the config.
	t.Run("injected name", func(t *testing.T) {
		const evil = "x\n    server evil 10.0.0.1:80"
		startAgent(t, n2, evil, 7946, 7373, c.key)
		waitFor(t, 20*time.Second, "the injected member at the balancer", func() bool {
			return lb.members()[evil].Status == "alive"
		})
		waitFor(t, 10*time.Second, "the template to reject it", func() bool {
			return lb.detailInt("haproxy-config", "rejected_members") == 1
		})
		cfg := lb.config()
		if strings.Contains(cfg, "evil") || strings.Contains(cfg, "10.0.0.1") || strings.Contains(cfg, n2.Addr) {
			t.Errorf("injected member in the config:\n%s", cfg)
		}
		status, _ := lb.ctl("status", "haproxy-config")
		t.Logf("injected name: %s", strings.TrimSpace(status))
		if !strings.Contains(status, "1 rejected") {
			t.Errorf("status does not count the rejected member: %s", status)
		}
	})

	// (5) A burst of 50 joins: at most 3 renders (each one a reload here).
	t.Run("burst of 50 joins", func(t *testing.T) {
		const n = 50
		renders := lb.detailInt("haproxy-config", "renders_total")
		reloads := lb.detailInt("haproxy-config", "reloads_total")
		start := time.Now()
		for i := range n {
			// In web1's namespace with its port tag: every one is a
			// server that answers.
			startAgent(t, n1, fmt.Sprintf("burst%02d", i), 8000+i, 9000+i, c.key)
		}
		waitFor(t, 60*time.Second, "50 burst members in the config", func() bool {
			return strings.Count(lb.config(), "server burst") == n
		})
		took := time.Since(start)
		time.Sleep(2500 * time.Millisecond) // wait_max: a late render would show
		gotRenders := lb.detailInt("haproxy-config", "renders_total") - renders
		gotReloads := lb.detailInt("haproxy-config", "reloads_total") - reloads
		t.Logf("burst of %d joins: all in the config %s after the first agent started; %d renders, %d reloads",
			n, took.Round(time.Millisecond), gotRenders, gotReloads)
		if gotRenders > 3 || gotRenders < 1 {
			t.Errorf("%d renders for a burst of %d joins, want 1 to 3", gotRenders, n)
		}
		if m := lb.metric("corral_template_renders_total"); int(m) != renders+gotRenders {
			t.Errorf("/metrics corral_template_renders_total = %v, status detail says %d", m, renders+gotRenders)
		}
		if m := len(lb.members()); m < n+2 {
			t.Errorf("serf members lists %d members, want %d or more", m, n+2)
		}
		if names := lb.waitNamesFollow(t, 10*time.Second, "after the burst (reload mode)"); len(names) != n+1 {
			t.Errorf("%d web members alive after the burst, want %d", len(names), n+1)
		}
	})

	ld.Stop()
	total, _, failed := ld.counts("")
	t.Logf("request loop (reload mode): %d requests, %d failed", total, failed)
	if failed != 0 {
		t.Errorf("failed requests: %v", ld.failures())
	}
	if out, code := lb.ctl("status"); code != 0 {
		t.Errorf("supervisorctl status exit %d:\n%s", code, out)
	}
}
