package e2e

import (
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// compose runs docker-compose on compose.yaml as the deployment's project.
func (d *deployment) compose(args ...string) (string, error) {
	cmd := exec.Command("docker-compose", append([]string{"-f", composeFile, "-p", d.name}, args...)...)
	cmd.Env = d.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker-compose %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (d *deployment) mustCompose(args ...string) string {
	d.t.Helper()
	out, err := d.compose(args...)
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

// composeWebs returns the project's running web apps.
func (d *deployment) composeWebs() map[string]node {
	return d.containers("label=com.docker.compose.project="+d.name, "label=com.docker.compose.service=web")
}

// waitHealthy waits until every container of the project reports healthy
// (the health checks of compose.yaml pass).
func (d *deployment) waitHealthy(limit time.Duration) error {
	start := time.Now()
	var out string
	for time.Since(start) < limit {
		ids := strings.Fields(mustDocker(d.t, "ps", "-q", "--filter", "label=com.docker.compose.project="+d.name))
		out = mustDocker(d.t, append([]string{"inspect", "-f", "{{.Name}} {{.State.Health.Status}}"}, ids...)...)
		if !strings.Contains(out, "starting") && !strings.Contains(out, "unhealthy") && len(ids) > 0 {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("after %s, health: %s", limit, out)
}

// TestCompose: compose.yaml with docker-compose: up serves the web apps,
// --scale web=5 serves all five and the health checks pass, --scale web=2
// under steady load fails no request, down removes everything.
func TestCompose(t *testing.T) {
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Fatal("docker-compose not found (Debian package docker-compose)")
	}
	d := newDeployment(t)
	project := "label=com.docker.compose.project=" + d.name
	downed := false
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, project)
		}
		if !downed {
			d.compose("down", "-v", "--timeout", "5")
		}
	})

	start := time.Now()
	d.mustCompose("up", "-d")
	up := time.Since(start)
	webs, took, err := d.waitFollows(startLimit, d.composeWebs)
	if err != nil {
		t.Fatalf("after docker-compose up: %v", err)
	}
	t.Logf("docker-compose up: %s; %d web apps %v served %s later", up.Round(time.Millisecond), len(webs), names(webs), took.Round(time.Millisecond))
	if len(webs) != 3 {
		t.Errorf("docker-compose up started %d web apps, want 3 (deploy.replicas)", len(webs))
	}

	// The stats page takes its password from the secret.
	for _, tc := range []struct {
		pass string
		want int
	}{{"", http.StatusUnauthorized}, {d.password, http.StatusOK}} {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/", d.statsPort), nil)
		if tc.pass != "" {
			req.SetBasicAuth("admin", tc.pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("stats page with password %q: %s, want %d", tc.pass, resp.Status, tc.want)
		}
	}

	t.Run("scale to 5", func(t *testing.T) {
		w := d.watch()
		start := time.Now()
		d.mustCompose("up", "-d", "--no-recreate", "--scale", "web=5")
		scaled := time.Since(start)
		five, took, err := d.waitFollows(startLimit, d.composeWebs)
		w.Stop()
		if err != nil {
			t.Fatal(err)
		}
		if len(five) != 5 {
			t.Fatalf("%d web apps run after --scale web=5: %v", len(five), names(five))
		}
		t.Logf("--scale web=5: docker-compose took %s, all 5 served %s later; container start -> UP in HAProxy: %s",
			scaled.Round(time.Millisecond), took.Round(time.Millisecond), durations(w.upAfterStart(minus(five, webs))))
		if err := d.waitHealthy(startLimit); err != nil {
			t.Error(err)
		}
		webs = five
	})

	t.Run("scale to 2 under load", func(t *testing.T) {
		l := startLoad(d.url(), 4, 5*time.Millisecond)
		time.Sleep(500 * time.Millisecond)
		start := time.Now()
		d.mustCompose("up", "-d", "--no-recreate", "--scale", "web=2")
		scaled := time.Since(start)
		two, _, err := d.waitFollows(startLimit, d.composeWebs)
		r := l.Stop()
		t.Logf("--scale web=2: docker-compose took %s; load: %s", scaled.Round(time.Millisecond), r)
		if err != nil {
			t.Fatal(err)
		}
		if len(two) != 2 {
			t.Errorf("%d web apps run after --scale web=2: %v", len(two), names(two))
		}
		if n := len(r.failed()); n > 0 {
			t.Errorf("%d requests failed while 3 web apps were stopped", n)
		}
	})

	start = time.Now()
	d.mustCompose("down", "--timeout", "10")
	downed = true
	t.Logf("docker-compose down: %s", time.Since(start).Round(time.Millisecond))
	if left := mustDocker(t, "ps", "-aq", "--filter", project); left != "" {
		t.Errorf("containers left after docker-compose down: %s", left)
	}
	if _, err := docker("network", "inspect", d.network()); err == nil {
		t.Errorf("network %s left after docker-compose down", d.network())
	}
}
