package e2e

import (
	"bufio"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkDockerStop measures `docker stop` under a steady load through
// the balancer (4 keep-alive clients, a request each every 5 ms):
//
//   - "webapp": one web app of three stopped; every request must still be
//     answered (the others serve), so failed counts them all.
//   - "ha": the balancer itself stopped (two web apps behind it). Requests
//     sent once its listener is closed are refused, as they must be with a
//     single balancer: "refused" counts those; "failed" counts the requests
//     that were already in flight when the stop began and did not complete.
//   - "floor": corral with no service, what Docker itself takes.
//
// Each iteration also logs where the time went, from the stopped
// container's own log lines (docker logs -t, corral at debug level): when
// corral began the shutdown, when each service stopped, when the container
// exited; and, for a web app, when HAProxy put its server into maintenance.
//
//	go test -run '^$' -bench DockerStop -benchtime 5x ./test/e2e
func BenchmarkDockerStop(b *testing.B) {
	b.Run("floor", func(b *testing.B) {
		c := newCluster(b)
		var total time.Duration
		for i := range b.N {
			n := fmt.Sprintf("empty%d", i)
			mustDocker(b, "run", "-d", "--name", c.name(n), "--network", c.network, "--label", c.label(),
				"-e", "CORRAL_SERVICES_DIR=/nonexistent", webappImage)
			time.Sleep(500 * time.Millisecond)
			start := time.Now()
			mustDocker(b, "stop", c.name(n))
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/stop")
	})
	b.Run("webapp", func(b *testing.B) {
		c := newCluster(b)
		c.runHA("-e", "CORRAL_LOG_LEVEL=debug")
		c.waitHAUp()
		c.runWeb("web1")
		c.runWeb("web2")
		var total time.Duration
		failed, requests := 0, 0
		for i := range b.N {
			n := fmt.Sprintf("stop%d", i)
			c.runWeb(n, "-e", "CORRAL_LOG_LEVEL=debug")
			if _, err := c.waitServed(startLimit, "web1", "web2", n); err != nil {
				b.Fatal(err)
			}
			l := startLoad(c.haURL(), 4, 5*time.Millisecond)
			time.Sleep(time.Second)
			start := time.Now()
			mustDocker(b, "stop", c.name(n))
			took := time.Since(start)
			time.Sleep(time.Second)
			r := l.Stop()
			total += took
			failed += len(r.failed())
			requests += len(r)
			if r.servedBy(n, time.Time{}) == 0 {
				b.Fatalf("%s answered no request before its stop: the load did not reach it", n)
			}
			b.Logf("docker stop %s: %s; %d requests, %d failed; %s", n, took.Round(time.Millisecond), len(r), len(r.failed()),
				c.stopSplit(n, start, "serf", "webapp", "logforward"))
			if at, ok := c.maintAt(n); ok {
				b.Logf("  HAProxy put %s into maintenance %s after docker stop began", n, at.Sub(start).Round(time.Millisecond))
			}
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/stop")
		b.ReportMetric(float64(failed), "failed")
		b.ReportMetric(float64(requests), "requests")
	})
	b.Run("ha", func(b *testing.B) {
		var total time.Duration
		failed, refused, requests := 0, 0, 0
		for range b.N {
			c := newCluster(b)
			c.runHA("-e", "CORRAL_LOG_LEVEL=debug")
			c.runWeb("web1")
			c.runWeb("web2")
			c.waitHAUp()
			if _, err := c.waitServed(startLimit, "web1", "web2"); err != nil {
				b.Fatal(err)
			}
			l := startLoad(c.haURL(), 4, 5*time.Millisecond)
			time.Sleep(time.Second)
			start := time.Now()
			mustDocker(b, "stop", c.name("ha"))
			took := time.Since(start)
			r := l.Stop()
			total += took
			requests += len(r)
			inFlight, after := 0, 0
			for _, f := range r.failed() {
				if f.start.Before(start) {
					inFlight++
				} else {
					after++
				}
			}
			failed += inFlight
			refused += after
			b.Logf("docker stop ha: %s; %d requests, %d in flight at the stop failed, %d sent after it failed; %s",
				took.Round(time.Millisecond), len(r), inFlight, after,
				c.stopSplit("ha", start, "haproxy", "haproxy-config", "serf", "logforward", "rsyslog"))
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/stop")
		b.ReportMetric(float64(failed), "failed")
		b.ReportMetric(float64(refused), "refused")
		b.ReportMetric(float64(requests), "requests")
	})
}

// logStamp is the timestamp docker logs -t puts before each line.
var logStamp = regexp.MustCompile(`^(\S+) (.*)$`)

// timedLogs returns node n's log lines with Docker's timestamps.
func (c *cluster) timedLogs(n string) []timedLine {
	out, _ := exec.Command("docker", "logs", "-t", c.name(n)).CombinedOutput()
	var lines []timedLine
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := logStamp.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			continue
		}
		lines = append(lines, timedLine{t, m[2]})
	}
	return lines
}

// timedLine is one log line and when Docker received it.
type timedLine struct {
	at   time.Time
	text string
}

// stopSplit tells, from node n's debug log, when corral began the shutdown
// and when each of services reached STOPPED or EXITED, counted from start,
// and when the container exited.
func (c *cluster) stopSplit(n string, start time.Time, services ...string) string {
	var parts []string
	stopped := map[string]time.Duration{}
	for _, l := range c.timedLogs(n) {
		if l.at.Before(start) {
			continue
		}
		if strings.Contains(l.text, `msg="shutting down"`) {
			parts = append(parts, fmt.Sprintf("corral got SIGTERM +%s", l.at.Sub(start).Round(time.Millisecond)))
		}
		if m := stateRe.FindStringSubmatch(l.text); m != nil && (m[2] == "STOPPED" || m[2] == "EXITED") {
			if _, ok := stopped[m[1]]; !ok {
				stopped[m[1]] = l.at.Sub(start)
			}
		}
	}
	var order []string
	for _, s := range services {
		if _, ok := stopped[s]; ok {
			order = append(order, s)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return stopped[order[i]] < stopped[order[j]] })
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%s stopped +%s", s, stopped[s].Round(time.Millisecond)))
	}
	if out, err := docker("inspect", "-f", "{{.State.FinishedAt}}", c.name(n)); err == nil {
		if fin, err := time.Parse(time.RFC3339Nano, out); err == nil {
			parts = append(parts, fmt.Sprintf("container exited +%s", fin.Sub(start).Round(time.Millisecond)))
		}
	}
	return strings.Join(parts, ", ")
}

// maintAt returns when HAProxy in ha logged web app n's server going into
// maintenance (its own message, on stderr: "Server web/<n> is going DOWN
// for maintenance").
func (c *cluster) maintAt(n string) (time.Time, bool) {
	for _, l := range c.timedLogs("ha") {
		if strings.HasPrefix(l.text, "[haproxy] ") && strings.Contains(l.text, "/"+n+" is going DOWN for maintenance") {
			return l.at, true
		}
	}
	return time.Time{}, false
}
