package serf

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/test/netns"
)

// benchSubnet is the benchmarks' test network: 10.213.72.0/24.
const benchSubnet = 72

// benchDetection measures, over b.N rounds, the time from sending sig to a
// node (a helper process in a namespace) to the in-process plugin
// publishing event about it. Run with -benchtime=Nx.
func benchDetection(b *testing.B, profile string, sig syscall.Signal, event string) {
	benchDetectionIn(b, profile, sig, event, true)
}

// benchDetectionIn is benchDetection with or without the seed: without
// it, the victim and the in-process plugin are alone, as a web app and
// its balancer.
func benchDetectionIn(b *testing.B, profile string, sig syscall.Signal, event string, withSeed bool) {
	nw := netns.New(b, benchSubnet, 2)
	settings := func(extra string) string {
		return fmt.Sprintf("profile = %q\nretry_interval = \"100ms\"\nretry_max_interval = \"1s\"\n%s", profile, extra)
	}
	lbAddr := fmt.Sprintf("%s:%d", nw.HostAddr(), rootPort+1)
	seedAddr := lbAddr
	var join []string
	if withSeed {
		startNode(b, nw.Node(0), "seed", settings(""))
		seedAddr = nw.Node(0).AddrPort(7946)
		join = []string{seedAddr}
	}
	lb := startLocal(b, Config{
		NodeName: "lb", Bind: lbAddr, Join: join,
		Profile: profile, RPCAddr: "off",
	})
	var took, stops []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		name := fmt.Sprintf("victim-%d", i)
		since := time.Now()
		v := startNode(b, nw.Node(1), name, settings(fmt.Sprintf("join = [%q]", seedAddr)))
		lb.waitEvent(b, since, 20*time.Second, "join of "+name, eventAbout("member-join", name))
		// The victim has joined once it sees lb too (a node stopped in the
		// middle of its join leaves before it knows anyone).
		v.waitFor(b, 20*time.Second, "lb seen by "+name, func(m helperMsg) bool {
			return m.Kind == "event" && slices.Contains(m.Alive, "lb")
		})
		b.StartTimer()
		since = time.Now()
		v.signal(sig)
		e := lb.waitEvent(b, since, 60*time.Second, event+" of "+name, eventAbout(event, name))
		took = append(took, e.at.Sub(since))
		b.StopTimer()
		v.exited(b)
		if sig == syscall.SIGTERM {
			m := v.waitFor(b, time.Second, "stopped", func(m helperMsg) bool { return m.Kind == "stopped" })
			stops = append(stops, time.Duration(m.StopNanos))
		}
	}
	reportDurations(b, "", took)
	if len(stops) > 0 {
		reportDurations(b, "stop-", stops)
	}
}

// reportDurations reports the mean, median and maximum of ds in ms, with
// units named prefix+"ms-mean" and so on.
func reportDurations(b *testing.B, prefix string, ds []time.Duration) {
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	b.ReportMetric(float64(sum.Milliseconds())/float64(len(ds)), prefix+"ms-mean")
	b.ReportMetric(float64(ds[len(ds)/2].Milliseconds()), prefix+"ms-p50")
	b.ReportMetric(float64(ds[len(ds)-1].Milliseconds()), prefix+"ms-max")
}

// BenchmarkLeave: SIGTERM to a node (graceful Leave on Stop) until a peer
// publishes member-leave.
func BenchmarkLeave(b *testing.B) {
	benchDetection(b, "lan", syscall.SIGTERM, "member-leave")
}

// BenchmarkLeavePair: as BenchmarkLeave with only two nodes, the node
// and the in-process plugin (a web app and its balancer): Serf's gossip
// then has one peer to send each broadcast to.
func BenchmarkLeavePair(b *testing.B) {
	benchDetectionIn(b, "lan", syscall.SIGTERM, "member-leave", false)
}

// BenchmarkFailureLAN: kill -9 of a node until a peer publishes
// member-failed, with the lan profile.
func BenchmarkFailureLAN(b *testing.B) {
	benchDetection(b, "lan", syscall.SIGKILL, "member-failed")
}

// BenchmarkFailureLocal: as BenchmarkFailureLAN with the local profile.
func BenchmarkFailureLocal(b *testing.B) {
	benchDetection(b, "local", syscall.SIGKILL, "member-failed")
}

// BenchmarkJoin: start of a node process (helper in a namespace, joining
// the seed) until a peer publishes its member-join.
func BenchmarkJoin(b *testing.B) {
	nw := netns.New(b, benchSubnet, 2)
	settings := "profile = \"lan\"\nretry_interval = \"100ms\"\nretry_max_interval = \"1s\"\n"
	startNode(b, nw.Node(0), "seed", settings)
	lb := startLocal(b, Config{
		NodeName: "lb", Bind: fmt.Sprintf("%s:%d", nw.HostAddr(), rootPort+1), Join: []string{nw.Node(0).AddrPort(7946)},
		RPCAddr: "off",
	})
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("joiner-%d", i)
		since := time.Now()
		v := startNode(b, nw.Node(1), name, settings+fmt.Sprintf("join = [%q]", nw.Node(0).Addr))
		e := lb.waitEvent(b, since, 20*time.Second, "join of "+name, eventAbout("member-join", name))
		took = append(took, e.at.Sub(since))
		b.StopTimer()
		v.signal(syscall.SIGTERM)
		lb.waitEvent(b, since, 20*time.Second, "leave of "+name, eventAbout("member-leave", name))
		v.exited(b)
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "ms-p50")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "ms-max")
}
