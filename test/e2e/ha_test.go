package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// stateRe matches corral's debug line for a service's state change.
var stateRe = regexp.MustCompile(`msg=state .*service=(\S+) .*to=(\S+)`)

// stopOrder returns the services in the order they reached STOPPED (or
// EXITED), from the debug log lines after the "shutting down" line.
func stopOrder(logs string) []string {
	_, after, ok := strings.Cut(logs, "msg=\"shutting down\"")
	if !ok {
		return nil
	}
	var order []string
	for _, line := range strings.Split(after, "\n") {
		if m := stateRe.FindStringSubmatch(line); m != nil && (m[2] == "STOPPED" || m[2] == "EXITED") {
			order = append(order, m[1])
		}
	}
	return order
}

// before reports whether a comes before b in order (both present).
func before(order []string, a, b string) bool {
	ia, ib := -1, -1
	for i, s := range order {
		if s == a && ia < 0 {
			ia = i
		}
		if s == b && ib < 0 {
			ib = i
		}
	}
	return ia >= 0 && ib >= 0 && ia < ib
}

// statusLines returns `supervisorctl status` in node n as name -> state.
func (c *cluster) status(n string) (map[string]string, string) {
	c.t.Helper()
	out, err := c.exec(n, "supervisorctl", "status")
	if err != nil {
		// supervisorctl status exits non-zero when a service is not running,
		// as supervisord's does; the output is still the answer.
		if _, ok := err.(*exec.ExitError); !ok {
			c.t.Fatalf("supervisorctl status in %s: %v\n%s", n, err, out)
		}
	}
	st := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			st[f[0]] = f[1]
		}
	}
	return st, out
}

// TestHAServicesAndLogs: every service in ha is RUNNING, docker logs show
// the services' output with their prefixes, and a web app's log lines reach
// the collector in ha.
func TestHAServicesAndLogs(t *testing.T) {
	c := newCluster(t)
	c.runHA()
	c.runWeb("web1")
	c.waitHAUp()
	if _, err := c.waitServed(startLimit, "web1"); err != nil {
		t.Fatal(err)
	}

	for node, names := range map[string][]string{
		"ha":   {"haproxy", "haproxy-config", "logforward", "rsyslog", "serf"},
		"web1": {"logforward", "serf", "webapp"},
	} {
		st, out := c.status(node)
		if len(st) != len(names) {
			t.Errorf("%s runs %d services, want %d (%v); supervisorctl status:\n%s", node, len(st), len(names), names, out)
		}
		for _, name := range names {
			if st[name] != "RUNNING" {
				t.Errorf("service %s in %s is %q, want RUNNING; supervisorctl status:\n%s", name, node, st[name], out)
			}
		}
	}

	// The stats page wants the password from the environment.
	stats := "http://" + c.ip("ha") + ":1936/"
	for _, tc := range []struct {
		user, pass string
		want       int
	}{{"", "", 401}, {"admin", "wrong", 401}, {"admin", c.statsPassword, 200}} {
		req, _ := http.NewRequest("GET", stats, nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("stats page: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("stats page as %q/%q: %s, want %d", tc.user, tc.pass, resp.Status, tc.want)
		}
	}

	// A request with a unique path: web1 logs it, logforward ships it.
	b := make([]byte, 6)
	rand.Read(b)
	marker := "e2e-marker-" + hex.EncodeToString(b)
	get("http://" + c.ip("web1") + ":8080/" + marker) // 404, logged all the same
	var found string
	deadline := time.Now().Add(startLimit)
	for time.Now().Before(deadline) {
		if out, err := c.exec("ha", "grep", "-F", marker, "/var/log/cluster/all.log"); err == nil {
			found = strings.TrimSpace(out)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if found == "" {
		t.Fatalf("web1's log line with %s did not reach /var/log/cluster/all.log in ha", marker)
	}
	if !strings.Contains(found, "web1") {
		t.Errorf("collected line does not name web1: %q", found)
	}
	if out, _ := c.exec("ha", "grep", "-cF", marker, "/var/log/cluster/web1.log"); strings.TrimSpace(out) != "1" {
		t.Errorf("web1.log in ha has %q lines with the marker, want 1", strings.TrimSpace(out))
	}
	t.Logf("collected: %s", found)

	logs := c.logs("web1")
	if !strings.Contains(logs, "[webapp] ") || !strings.Contains(logs, marker) {
		t.Errorf("docker logs web1 lack the [webapp] prefix or the request line:\n%s", logs)
	}
	// HAProxy logs a server leaving to its stdout: it must show in docker
	// logs ha with the [haproxy] prefix.
	mustDocker(t, "stop", c.name("web1"))
	var haLine string
	for deadline := time.Now().Add(startLimit); time.Now().Before(deadline) && haLine == ""; time.Sleep(100 * time.Millisecond) {
		for _, l := range strings.Split(c.logs("ha"), "\n") {
			if strings.HasPrefix(l, "[haproxy] ") && strings.Contains(l, "DOWN") {
				haLine = l
				break
			}
		}
	}
	if haLine == "" {
		t.Errorf("docker logs ha show no [haproxy] line about web1 going down:\n%s", c.logs("ha"))
	}
}

// TestStopAndRestartHA: docker stop ha exits 0 well under Docker's timeout
// with services stopped in reverse order; docker restart ha serves the same
// web apps again without touching them.
func TestStopAndRestartHA(t *testing.T) {
	c := newCluster(t)
	c.runHA("-e", "CORRAL_LOG_LEVEL=debug")
	c.runWeb("web1")
	c.runWeb("web2")
	c.waitHAUp()
	if _, err := c.waitServed(startLimit, "web1", "web2"); err != nil {
		t.Fatal(err)
	}
	webStarted := map[string]string{}
	for _, w := range []string{"web1", "web2"} {
		webStarted[w] = mustDocker(t, "inspect", "-f", "{{.State.StartedAt}} {{.RestartCount}}", c.name(w))
	}

	start := time.Now()
	mustDocker(t, "stop", c.name("ha"))
	took := time.Since(start)
	code := mustDocker(t, "inspect", "-f", "{{.State.ExitCode}}", c.name("ha"))
	t.Logf("docker stop ha: %s, exit code %s", took.Round(time.Millisecond), code)
	if code != "0" {
		t.Errorf("ha exited %s after docker stop, want 0", code)
	}
	if took > stopBound {
		t.Errorf("docker stop ha took %s, want well under Docker's 10s (< %s)", took.Round(time.Millisecond), stopBound)
	}
	order := stopOrder(c.logs("ha"))
	t.Logf("stop order: %v", order)
	for _, p := range [][2]string{
		{"haproxy", "haproxy-config"}, {"haproxy-config", "logforward"},
		{"serf", "logforward"}, {"logforward", "rsyslog"},
	} {
		if !before(order, p[0], p[1]) {
			t.Errorf("%s should stop before %s (it starts after it); stop order %v", p[0], p[1], order)
		}
	}

	// Start it again: the web apps rejoin (or are rejoined) by themselves.
	mustDocker(t, "start", c.name("ha"))
	c.waitHAUp()
	if took, err := c.waitServed(startLimit, "web1", "web2"); err != nil {
		t.Errorf("after docker start ha: %v", err)
	} else {
		t.Logf("docker start ha: both web apps served again %s after the frontend was up", took.Round(time.Millisecond))
	}
	if _, err := c.waitNames(startLimit, "web1", "web2"); err != nil {
		t.Errorf("HAProxy's servers after docker start ha: %v", err)
	}

	mustDocker(t, "restart", c.name("ha"))
	c.waitHAUp()
	if took, err := c.waitServed(servedAfterHAUp, "web1", "web2"); err != nil {
		t.Errorf("after docker restart ha: %v", err)
	} else {
		t.Logf("docker restart ha: both web apps served again %s after the frontend was up", took.Round(time.Millisecond))
	}
	if _, err := c.waitNames(startLimit, "web1", "web2"); err != nil {
		t.Errorf("HAProxy's servers after docker restart ha: %v", err)
	}
	for w, was := range webStarted {
		if now := mustDocker(t, "inspect", "-f", "{{.State.StartedAt}} {{.RestartCount}}", c.name(w)); now != was {
			t.Errorf("%s was touched: started/restarts %q, was %q", w, now, was)
		}
	}
}

// TestMainCommand: a command given to docker run becomes the main program;
// its exit code is the container's, after corral stopped the services. In
// a cluster, and alone exactly as a user would type it (no gossip key, the
// default bridge: serf and logforward fail and retry, which must not matter).
func TestMainCommand(t *testing.T) {
	c := newCluster(t)
	for name, args := range map[string][]string{
		"in the cluster": append([]string{"run", "-e", "CORRAL_LOG_LEVEL=debug"}, c.commonArgs("main")[1:]...), // [1:]: not detached
		"alone":          {"run", "-e", "CORRAL_LOG_LEVEL=debug", "--rm", "--name", c.name("alone"), "--label", c.label()},
	} {
		t.Run(name, func(t *testing.T) {
			args := append(args, webappImage, "sh", "-c", "sleep 1; exit 3")
			out, err := exec.Command("docker", args...).CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 3 {
				t.Fatalf("docker run webapp sh -c 'exit 3': %v, want exit code 3; output:\n%s", err, out)
			}
			logs := string(out)
			exited := strings.Index(logs, "main command exited")
			stopped := strings.Index(logs, "msg=stopped") // the web app's graceful stop
			if exited < 0 || stopped < 0 || stopped < exited {
				t.Errorf("want the main command's exit, then the web app's graceful stop; output:\n%s", logs)
			}
		})
	}
}

// TestWrongGossipKey: gossip is encrypted, so a web app with another key
// cannot join and is never served.
func TestWrongGossipKey(t *testing.T) {
	c := newCluster(t)
	c.runHA()
	c.runWeb("web1")
	c.waitHAUp()
	if _, err := c.waitServed(startLimit, "web1"); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.key")
	if err := os.WriteFile(other, []byte("c3RyYW5nZXItc3RyYW5nZXItc3RyYW5nZXItMzJieXQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustDocker(t, append(append([]string{"run"}, c.argsWithKey("intruder", other)...), webappImage)...)
	c.waitWebUp("intruder")
	// Give it several join attempts (one a second).
	time.Sleep(3 * time.Second)
	if got := served(c.haURL(), 12); strings.Join(got, ",") != "web1" {
		t.Errorf("served %v, want only web1: a node with another gossip key got in", got)
	}
	st, out := c.status("intruder")
	if st["serf"] == "" {
		t.Fatalf("no serf service in the intruder:\n%s", out)
	}
	if strings.Contains(out, "joined ha") {
		t.Errorf("the intruder's serf says it joined ha:\n%s", out)
	}
}
