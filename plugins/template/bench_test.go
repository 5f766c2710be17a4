package template

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/plugins/plugintest"
)

// BenchmarkRender measures one render pass (member validation, template
// execution, and runtime mode's reading of the backend's server lines back
// from the output) at 10, 100 and 1000 members.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			s := Config{Backend: "web", Role: "web"}
			s.applyDefaults()
			tm, err := parseTemplate("t", strings.NewReplacer("@DIR@", "/run/haproxy", "@PORT@", "80").Replace(haproxyTemplate), os.LookupEnv)
			if err != nil {
				b.Fatal(err)
			}
			alive := make([]plugins.Member, n)
			for i := range alive {
				alive[i] = plugins.Member{Name: fmt.Sprintf("web-%04d", i), Addr: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
					Status: "alive", Tags: map[string]string{"role": "web", "port": "8080", "zone": "a"}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				members, _, _ := s.members(alive)
				out, err := render(tm, &Data{Members: members, Backend: "web"})
				if err != nil || len(out) == 0 {
					b.Fatal(err)
				}
				if srv, _, err := backendServers(out, "web"); err != nil || len(srv) != n {
					b.Fatalf("%d servers read back, %v", len(srv), err)
				}
			}
		})
	}
}

// BenchmarkBurst publishes 100 joins, one per millisecond, with the default
// wait (200ms quiet, 2s max) and reports the renders they cause.
func BenchmarkBurst(b *testing.B) {
	for b.Loop() {
		dir := b.TempDir()
		s := setupFiles(b, dir, 1, haproxyTemplate)
		s.Mode, s.Check = ReloadNone, nil
		s.WaitMin, s.WaitMax = defaultWaitMin, defaultWaitMax
		h := newTestHost(b)
		p := newPlugin(s)
		startPlugin(b, h, p)
		c := newCluster(h.Bus())
		for i := range 100 {
			c.join(plugins.Member{Name: fmt.Sprintf("n%03d", i), Addr: "127.0.0.1",
				Tags: map[string]string{"role": "web", "port": strconv.Itoa(1000 + i)}})
			time.Sleep(time.Millisecond)
		}
		eventually(b, 10*time.Second, "100 members rendered", func() bool {
			return p.Status().Detail["members"] == 100
		})
		time.Sleep(2 * defaultWaitMin)
		b.ReportMetric(metric(p, "corral_template_renders_total"), "renders/100joins")
	}
}

// BenchmarkJoinToServed measures, over 20 joins, the time from publishing a
// member-join to the first request served by the new node through HAProxy,
// per mode. The node leaves again after each join. wait_min is 1ms so the
// figure is the mechanism's, not the debounce's.
func BenchmarkJoinToServed(b *testing.B) {
	for _, mode := range []ReloadMode{ReloadSignal, ReloadHAProxyMaster, ReloadRuntime} {
		b.Run(mode.String(), func(b *testing.B) {
			for b.Loop() {
				joinToServed(b, mode, 20)
			}
		})
	}
}

func joinToServed(b *testing.B, mode ReloadMode, joins int) {
	dir := b.TempDir()
	port := plugintest.FreePort(b)
	s := setupFiles(b, dir, port, haproxyTemplate)
	s.Mode, s.Service = mode, "haproxy"
	s.WaitMin, s.WaitMax = time.Millisecond, 50*time.Millisecond
	hp := startHAProxy(b, s, port)
	h := newTestHost(b)
	h.SetReload(func(ctx context.Context, name string) error { return syscall.Kill(hp.masterPID(), syscall.SIGUSR2) })
	p := newPlugin(s)
	startPlugin(b, h, p)
	c := newCluster(h.Bus())
	base := startWebNode(b, 70, "base")
	c.join(base.member())
	hp.waitServed(b, "base", 10*time.Second)
	var lat []time.Duration
	for i := range joins {
		n := startWebNode(b, 71+i, fmt.Sprintf("new-%d", i))
		t0 := time.Now()
		c.join(n.member())
		for {
			if body, err := hp.get(); err == nil && body == n.name {
				break
			}
			if time.Since(t0) > 10*time.Second {
				b.Fatalf("%s not served after 10s", n.name)
			}
		}
		lat = append(lat, time.Since(t0))
		c.leave(n.member())
		eventually(b, 10*time.Second, n.name+" removed", func() bool { return hp.served(4)[n.name] == 0 })
		time.Sleep(200 * time.Millisecond) // let the leave's pass finish
	}
	b.Logf("%s: join to served: %v", mode, lat)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99+99)/100-1].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(hp.reloads(b)), "haproxy-reloads")
}

// BenchmarkChurnUnderLoad runs wrk against HAProxy (loopback only), with
// keep-alive connections and with "Connection: close", while
// the membership changes 100 times (a change every 100ms, two nodes
// toggling over three stable ones), and reports wrk's failed requests and
// reloads lost. Modes: the plugin's runtime and haproxy-master modes, a
// plain `kill -USR2` to the master per change (the supervisor's
// reload_signal), and a naive restart (SIGTERM, then start again).
func BenchmarkChurnUnderLoad(b *testing.B) {
	if _, err := exec.LookPath("wrk"); err != nil {
		b.Fatalf("wrk not found: install the Debian package wrk: %v", err)
	}
	for _, conn := range []string{"keepalive", "close"} {
		for _, mode := range []string{"runtime", "haproxy-master", "kill-usr2", "restart"} {
			b.Run(conn+"/"+mode, func(b *testing.B) {
				for b.Loop() {
					churn(b, mode, conn == "close", 100, 100*time.Millisecond)
				}
			})
		}
	}
}

// churn runs one churn measurement; with closeConn wrk sends
// "Connection: close", so no request races the close of an idle
// keep-alive connection by an old worker.
func churn(b *testing.B, mode string, closeConn bool, changes int, every time.Duration) {
	dir := b.TempDir()
	port := plugintest.FreePort(b)
	s := setupFiles(b, dir, port, haproxyTemplate)
	s.Service = "haproxy"
	s.WaitMin, s.WaitMax = 5*time.Millisecond, 50*time.Millisecond
	var signals, restarts atomic.Int64
	hp := startHAProxy(b, s, port)
	h := newTestHost(b)
	switch mode {
	case "runtime":
		s.Mode = ReloadRuntime
	case "haproxy-master":
		s.Mode = ReloadHAProxyMaster
	case "kill-usr2":
		s.Mode = ReloadSignal
		h.SetReload(func(ctx context.Context, name string) error {
			signals.Add(1)
			return syscall.Kill(hp.masterPID(), syscall.SIGUSR2)
		})
	case "restart":
		s.Mode = ReloadSignal
		h.SetReload(func(ctx context.Context, name string) error {
			restarts.Add(1)
			hp.kill(syscall.SIGTERM)
			return hp.run()
		})
	}
	p := newPlugin(s)
	startPlugin(b, h, p)
	c := newCluster(h.Bus())
	var stable, toggling []*webNode
	for i := range 3 {
		n := startWebNode(b, 90+i, fmt.Sprintf("stable-%d", i))
		stable = append(stable, n)
		c.join(n.member())
	}
	for i := range 2 {
		toggling = append(toggling, startWebNode(b, 95+i, fmt.Sprintf("toggle-%d", i)))
	}
	for _, n := range stable {
		hp.waitServed(b, n.name, 10*time.Second)
	}
	time.Sleep(300 * time.Millisecond) // let the first render settle
	reloads0 := hp.reloads(b)
	dur := time.Duration(changes)*every + 2*time.Second
	args := []string{"-t2", "-c32", "-d" + strconv.Itoa(int(dur.Seconds())+1) + "s", "--timeout", "2s"}
	if closeConn {
		args = append(args, "-H", "Connection: close")
	}
	wrk := exec.Command("wrk", append(args, fmt.Sprintf("http://127.0.0.1:%d/", port))...)
	var out strings.Builder
	wrk.Stdout, wrk.Stderr = &out, &out
	if err := wrk.Start(); err != nil {
		b.Fatalf("starting wrk: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	in := [2]bool{}
	for i := range changes {
		k := i % 2
		if in[k] {
			c.leave(toggling[k].member())
		} else {
			c.join(toggling[k].member())
		}
		in[k] = !in[k]
		time.Sleep(every)
	}
	if err := wrk.Wait(); err != nil {
		b.Fatalf("wrk: %v\n%s", err, out.String())
	}
	requests, failed := parseWrk(b, out.String())
	b.ReportMetric(float64(requests), "requests")
	b.ReportMetric(float64(failed), "failed")
	var lost int64
	switch mode {
	case "kill-usr2":
		lost = signals.Load() - int64(hp.reloads(b)-reloads0)
		b.ReportMetric(float64(signals.Load()), "reloads-sent")
	case "haproxy-master", "runtime":
		b.ReportMetric(float64(hp.reloads(b)-reloads0), "haproxy-reloads")
		b.ReportMetric(metric(p, "corral_template_runtime_updates_total"), "runtime-updates")
	case "restart":
		b.ReportMetric(float64(restarts.Load()), "restarts")
	}
	b.ReportMetric(float64(lost), "lost-reloads")
	b.ReportMetric(metric(p, "corral_template_errors_total"), "plugin-errors")
	b.Logf("%s: wrk:\n%s", mode, out.String())
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk returns the requests and the failed ones (socket errors and
// non-2xx answers) of a wrk report.
func parseWrk(b *testing.B, out string) (requests, failed int) {
	m := wrkRequests.FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no request count in wrk output:\n%s", out)
	}
	requests, _ = strconv.Atoi(m[1])
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, v := range m[1:] {
			n, _ := strconv.Atoi(v)
			failed += n
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.Atoi(m[1])
		failed += n
	}
	return requests, failed
}
