package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corralhq/corral/test/testutil"
)

// The tests run the harness once per peer with small workloads, so that
// the benchmark cannot rot unnoticed; the figures come from
// `go run ./bench/pid1` or `go test -bench . ./bench/pid1`.

var (
	toolsOnce sync.Once
	toolsErr  error
	shared    *tools
	workDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if workDir != "" {
		os.RemoveAll(workDir)
	}
	os.Exit(code)
}

// testTools builds corral and the C helpers once per test binary. It fails
// (never skips) when root or a Debian package is missing.
func testTools(tb testing.TB) *tools {
	tb.Helper()
	toolsOnce.Do(func() {
		workDir, toolsErr = os.MkdirTemp("", "corral-bench-pid1-test-")
		if toolsErr != nil {
			return
		}
		shared, toolsErr = findTools(workDir, "")
	})
	if toolsErr != nil {
		testutil.Require(tb, testutil.Root, testutil.Command("s6-svscan", "s6"), testutil.Command("tini", "tini"),
			testutil.Command("supervisord", "supervisor"), testutil.Command("gcc", "gcc"), testutil.Command("unshare", "util-linux"))
		tb.Fatalf("setting up (needs root and the Debian packages s6, tini, supervisor, gcc, libc6-dev, util-linux): %v", toolsErr)
	}
	return shared
}

func TestEveryPeerEveryMeasure(t *testing.T) {
	tl := testTools(t)
	for _, name := range peerNames() {
		p := peers[name]
		t.Run(name, func(t *testing.T) {
			d, err := firstStart(tl, p, false)
			if err != nil {
				t.Fatal(err)
			}
			if d <= 0 || d > 10*time.Second {
				t.Errorf("exec to first service = %s, want within (0, 10s]", d)
			}
			if p.supports(workload{kind: crash}) {
				d, err := restartLatency(tl, p, false)
				if err != nil {
					t.Fatal(err)
				}
				if d <= 0 {
					t.Errorf("crash to restart = %s, want > 0", d)
				}
			}
			for _, n := range []int{1, 3} {
				if !p.supports(workload{kind: sleepers, n: n}) {
					continue
				}
				r, err := sleepRun(tl, p, n, 50*time.Millisecond, false)
				if err != nil {
					t.Fatal(err)
				}
				if r.hwm <= 0 || r.treeHWM < r.hwm || r.anon <= 0 || r.rss < r.anon {
					t.Errorf("%d services: implausible memory figures %+v", n, r)
				}
				if r.term <= 0 || r.lastToExit < 0 || r.lastToExit > r.term {
					t.Errorf("%d services: implausible SIGTERM figures: term %s, last service to exit %s", n, r.term, r.lastToExit)
				}
			}
			// supervisord reaps about 100 orphans a second: keep its share small.
			n := 500
			if name == "supervisord" {
				n = 50
			}
			o, err := orphanRun(tl, p, n, 20*time.Second, false)
			if err != nil {
				t.Fatal(err)
			}
			if o.zombies != 0 {
				t.Errorf("%d orphans: %d zombies left", n, o.zombies)
			}
			if o.total <= 0 || o.drain < 0 || o.drain > o.total {
				t.Errorf("%d orphans: implausible times %+v", n, o)
			}
		})
	}
}

func TestTiniIsNotAskedToRestartOrRunMany(t *testing.T) {
	p := peers["tini"]
	if p.supports(workload{kind: crash}) {
		t.Error("tini supports crash, want n/a")
	}
	if p.supports(workload{kind: sleepers, n: 20}) {
		t.Error("tini supports 20 services, want n/a")
	}
	if !p.supports(workload{kind: sleepers, n: 1}) {
		t.Error("tini does not support 1 service")
	}
}

func TestLaunchCleansUpTheNamespace(t *testing.T) {
	tl := testTools(t)
	r, err := launch(tl, peers["corral"], workload{kind: sleepers, n: 2}, false)
	if err != nil {
		t.Fatal(err)
	}
	pid := r.pid
	err = waitEvery(10*time.Millisecond, 10*time.Second, func() (bool, error) {
		return len(descendants(pid)) == 2, nil
	})
	if err != nil {
		r.stop()
		t.Fatalf("2 services never ran: %v", err)
	}
	kids := descendants(pid)
	r.stop()
	for _, k := range append(kids, procInfo{pid: pid}) {
		if p, err := readProc(k.pid); err == nil && p.state != 'Z' {
			t.Errorf("pid %d (%s) still running after stop", k.pid, p.comm)
		}
	}
	if _, err := os.Stat(r.dir); !os.IsNotExist(err) {
		t.Errorf("run directory %s left behind (err %v)", r.dir, err)
	}
}

// benchPeers runs fn as a sub-benchmark for every peer that supports w.
func benchPeers(b *testing.B, w workload, fn func(b *testing.B, tl *tools, p *peer)) {
	tl := testTools(b)
	for _, name := range peerNames() {
		p := peers[name]
		if !p.supports(w) {
			continue
		}
		b.Run(name, func(b *testing.B) { fn(b, tl, p) })
	}
}

// report adds the median and p90 of samples as metrics named unit.
func report(b *testing.B, samples []float64, unit string) {
	if len(samples) == 0 {
		return
	}
	b.ReportMetric(median(samples), unit)
	b.ReportMetric(quantile(samples, 0.9), "p90-"+unit)
}

func BenchmarkFirstStart(b *testing.B) {
	benchPeers(b, workload{kind: stamp}, func(b *testing.B, tl *tools, p *peer) {
		var ms []float64
		for i := 0; i < b.N; i++ {
			d, err := firstStart(tl, p, false)
			if err != nil {
				b.Fatal(err)
			}
			ms = append(ms, float64(d)/float64(time.Millisecond))
		}
		report(b, ms, "ms-to-first-service")
	})
}

func BenchmarkRestart(b *testing.B) {
	benchPeers(b, workload{kind: crash}, func(b *testing.B, tl *tools, p *peer) {
		var ms []float64
		for i := 0; i < b.N; i++ {
			d, err := restartLatency(tl, p, false)
			if err != nil {
				b.Fatal(err)
			}
			ms = append(ms, float64(d)/float64(time.Millisecond))
		}
		report(b, ms, "ms-crash-to-restart")
	})
}

func BenchmarkSleep20(b *testing.B) {
	benchPeers(b, workload{kind: sleepers, n: 20}, func(b *testing.B, tl *tools, p *peer) {
		var hwm, last []float64
		for i := 0; i < b.N; i++ {
			r, err := sleepRun(tl, p, 20, 300*time.Millisecond, false)
			if err != nil {
				b.Fatal(err)
			}
			hwm = append(hwm, mib(r.hwm))
			last = append(last, ms(r.lastToExit))
		}
		report(b, hwm, "MiB-VmHWM")
		report(b, last, "ms-last-service-to-exit")
	})
}

func BenchmarkOrphans(b *testing.B) {
	const n = 2000
	benchPeers(b, workload{kind: orphans}, func(b *testing.B, tl *tools, p *peer) {
		var rate []float64
		for i := 0; i < b.N; i++ {
			r, err := orphanRun(tl, p, n, 30*time.Second, false)
			if err != nil {
				b.Fatal(err)
			}
			if r.zombies != 0 {
				b.Log(fmt.Sprintf("%d zombies left", r.zombies))
			}
			rate = append(rate, float64(n-int(r.zombies))/r.total.Seconds())
		}
		b.ReportMetric(median(rate), "orphans/s")
	})
}

func TestShuffleKeepsEveryPeer(t *testing.T) {
	a, b, c := &peer{name: "a"}, &peer{name: "b"}, &peer{name: "c"}
	ps := []*peer{a, b, c}
	rng := rand.New(rand.NewPCG(1, 0))
	orders := map[string]bool{}
	for range 30 {
		got := ""
		for _, p := range shuffle(rng, ps) {
			got += p.name
		}
		if len(got) != 3 || !strings.Contains(got, "a") || !strings.Contains(got, "b") || !strings.Contains(got, "c") {
			t.Fatalf("shuffle(abc) = %s", got)
		}
		orders[got] = true
	}
	if len(orders) < 4 {
		t.Errorf("30 shuffles gave only %d orders: %v", len(orders), orders)
	}
	if ps[0] != a || ps[1] != b || ps[2] != c {
		t.Error("shuffle changed its argument")
	}
}
