package e2e

import (
	"testing"
	"time"
)

// BenchmarkRunToFirstServed measures, per iteration on a fresh network,
// "ha-first": ha up, then `docker run` of a web app until its first request
// is served through the balancer; and "web-first": a web app up, then
// `docker run` of ha until the first request is served through it. Run:
//
//	go test -run '^$' -bench RunToFirstServed -benchtime 5x ./test/e2e
func BenchmarkRunToFirstServed(b *testing.B) {
	b.Run("ha-first", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			b.StopTimer()
			c := newCluster(b)
			c.runHA()
			c.waitHAUp()
			b.StartTimer()
			start := time.Now()
			c.runWeb("web1")
			if _, err := c.waitServed(startLimit, "web1"); err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/served")
	})
	b.Run("web-first", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			b.StopTimer()
			c := newCluster(b)
			c.runWeb("web1")
			c.waitWebUp("web1")
			b.StartTimer()
			start := time.Now()
			c.runHA()
			if _, err := c.waitServed(startLimit, "web1"); err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/served")
	})
}
