package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// swarmLimit bounds waits on Swarm (services converging, a stack going
// away); they are not requirements.
const swarmLimit = 120 * time.Second

// enterSwarm makes this engine a single-node swarm for the test, and leaves
// swarm mode when the test ends (removing the docker_gwbridge network if
// swarm mode made it). An engine already in a swarm is used as it is.
func enterSwarm(t *testing.T) {
	t.Helper()
	state := mustDocker(t, "info", "-f", "{{.Swarm.LocalNodeState}}")
	switch state {
	case "active":
		t.Log("this engine is already in a swarm: using it, and leaving it in swarm mode")
		return
	case "inactive":
	default:
		t.Fatalf("swarm state %q: want inactive (or active)", state)
	}
	addr, err := ownAddress()
	if err != nil {
		t.Fatal(err)
	}
	_, gwErr := docker("network", "inspect", "docker_gwbridge")
	start := time.Now()
	mustDocker(t, "swarm", "init", "--advertise-addr", addr)
	t.Logf("docker swarm init --advertise-addr %s: %s", addr, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if _, err := docker("swarm", "leave", "--force"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if gwErr != nil {
			// Made by swarm init; it may take a moment to lose its last endpoint.
			for i := 0; i < 50; i++ {
				if _, err := docker("network", "rm", "docker_gwbridge"); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	})
}

// ownAddress is this machine's address to advertise to a swarm: the IPv4
// address of the interface with the default route, else of the first
// interface up that is neither loopback nor Docker's.
func ownAddress() (string, error) {
	var ifaces []string
	if f, err := os.Open("/proc/net/route"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fs := strings.Fields(sc.Text()); len(fs) > 2 && fs[1] == "00000000" {
				ifaces = append(ifaces, fs[0])
			}
		}
		f.Close()
	}
	all, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, i := range all {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 && !strings.HasPrefix(i.Name, "docker") &&
			!strings.HasPrefix(i.Name, "br-") && !strings.HasPrefix(i.Name, "veth") {
			ifaces = append(ifaces, i.Name)
		}
	}
	for _, name := range ifaces {
		i, err := net.InterfaceByName(name)
		if err != nil {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
				return n.IP.String(), nil
			}
		}
	}
	return "", fmt.Errorf("no IPv4 address to advertise to a swarm (interfaces %v)", ifaces)
}

// stack runs docker stack deploy on compose.yaml as the deployment's stack.
func (d *deployment) deployStack(replicas int) {
	d.t.Helper()
	cmd := exec.Command("docker", "stack", "deploy", "-c", composeFile, d.name)
	cmd.Env = append(d.env(), fmt.Sprintf("DEMO_REPLICAS=%d", replicas))
	if out, err := cmd.CombinedOutput(); err != nil {
		d.t.Fatalf("docker stack deploy: %v\n%s", err, out)
	}
}

// removeStack removes the stack and waits until its containers and its
// network are gone.
func (d *deployment) removeStack() error {
	if _, err := docker("stack", "rm", d.name); err != nil {
		return err
	}
	deadline := time.Now().Add(swarmLimit)
	for time.Now().Before(deadline) {
		left, _ := docker("ps", "-aq", "--filter", "label=com.docker.stack.namespace="+d.name)
		_, netErr := docker("network", "inspect", d.network())
		if left == "" && netErr != nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("stack %s: containers or network %s still there after %s", d.name, d.network(), swarmLimit)
}

// service is the stack's service name for a compose.yaml service.
func (d *deployment) service(s string) string { return d.name + "_" + s }

// swarmWebs returns the running web app tasks' containers.
func (d *deployment) swarmWebs() map[string]node {
	return d.containers("label=com.docker.swarm.service.name=" + d.service("web"))
}

// swarmHA returns the balancer task's container (empty ID if none runs).
func (d *deployment) swarmHA() node {
	for _, n := range d.containers("label=com.docker.swarm.service.name=" + d.service("ha")) {
		return n
	}
	return node{}
}

// scale runs docker service scale, which returns once the service has
// converged (its tasks are running and healthy, or gone).
func (d *deployment) scale(n int) time.Duration {
	d.t.Helper()
	start := time.Now()
	mustDocker(d.t, "service", "scale", "--detach=false", fmt.Sprintf("%s=%d", d.service("web"), n))
	return time.Since(start)
}

// waitConverged waits until the service runs n tasks, all running.
func (d *deployment) waitConverged(service string, n int) {
	d.t.Helper()
	deadline := time.Now().Add(swarmLimit)
	var out string
	for time.Now().Before(deadline) {
		out = mustDocker(d.t, "service", "ls", "--filter", "name="+service, "--format", "{{.Name}} {{.Replicas}}")
		if strings.Contains(out, fmt.Sprintf("%s %d/%d", service, n, n)) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.t.Fatalf("service %s did not converge to %d tasks in %s: %s", service, n, swarmLimit, out)
}

// TestSwarm: compose.yaml deployed with docker stack deploy on a
// single-node swarm. The balancer follows docker service scale 3 -> 20 -> 2
// (its servers in service are exactly the running tasks', and exactly they
// answer); a rolling docker service update of the web apps under steady
// load fails no request; a killed balancer task is replaced by Swarm and
// serves every web app again.
func TestSwarm(t *testing.T) {
	enterSwarm(t)
	d := newDeployment(t)
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, "label=com.docker.stack.namespace="+d.name)
		}
		if err := d.removeStack(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})

	start := time.Now()
	d.deployStack(3)
	d.waitConverged(d.service("web"), 3)
	d.waitConverged(d.service("ha"), 1)
	converged := time.Since(start)
	webs, took, err := d.waitFollows(swarmLimit, d.swarmWebs)
	if err != nil {
		t.Fatalf("after docker stack deploy: %v", err)
	}
	t.Logf("docker stack deploy: services converged in %s, 3 web apps %v served %s later",
		converged.Round(time.Millisecond), names(webs), took.Round(time.Millisecond))
	if len(webs) != 3 {
		t.Fatalf("%d web app tasks run, want 3", len(webs))
	}

	// step scales the web apps to n and checks that the balancer follows.
	step := func(t *testing.T, n int) {
		before := d.swarmWebs()
		w := d.watch()
		scaleStart := time.Now()
		took := d.scale(n)
		now, lag, err := d.waitFollows(swarmLimit, d.swarmWebs)
		w.Stop()
		if err != nil {
			t.Fatal(err)
		}
		if len(now) != n {
			t.Fatalf("%d web app tasks run after scaling to %d: %v", len(now), n, names(now))
		}
		added, removed := minus(now, before), minus(before, now)
		var gone time.Duration
		w.mu.Lock()
		for _, r := range removed {
			if s := w.lastSeen[r.IP].Sub(scaleStart); s > gone {
				gone = s
			}
		}
		w.mu.Unlock()
		t.Logf("docker service scale %d -> %d: converged in %s, HAProxy and the running containers agree %s later", len(before), n, took.Round(time.Millisecond), lag.Round(time.Millisecond))
		if len(added) > 0 {
			t.Logf("  %d added: container start -> UP in HAProxy: %s", len(added), durations(w.upAfterStart(added)))
		}
		if len(removed) > 0 {
			t.Logf("  %d removed: the last one out of HAProxy %s after the scale command; out of HAProxy before its container exited: %s",
				len(removed), gone.Round(time.Millisecond), durations(w.outBeforeExit(removed)))
		}
		webs = now
	}
	if !t.Run("scale to 20", func(t *testing.T) { step(t, 20) }) {
		return
	}
	if !t.Run("scale to 2", func(t *testing.T) { step(t, 2) }) {
		return
	}

	if !t.Run("rolling update under load", func(t *testing.T) {
		before := webs
		l := startLoad(d.url(), 4, 5*time.Millisecond)
		time.Sleep(500 * time.Millisecond)
		start := time.Now()
		mustDocker(t, "service", "update", "--detach=false", "--force", d.service("web"))
		took := time.Since(start)
		now, _, err := d.waitFollows(swarmLimit, d.swarmWebs)
		time.Sleep(500 * time.Millisecond)
		r := l.Stop()
		t.Logf("docker service update --force (%d tasks, start-first): %s; load: %s", len(before), took.Round(time.Millisecond), r)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(r.failed()); n > 0 {
			t.Errorf("%d requests failed during the rolling update", n)
		}
		if state := mustDocker(t, "service", "inspect", "-f", "{{.UpdateStatus.State}}", d.service("web")); state != "completed" {
			t.Errorf("update state %q, want completed", state)
		}
		if len(now) != len(before) || len(minus(now, before)) != len(now) {
			t.Errorf("after the update the tasks are %v, before %v: want as many, all new", names(now), names(before))
		}
		for _, n := range before {
			if r.servedBy(n.Name, time.Time{}) == 0 {
				t.Errorf("old task %s answered no request: the load did not reach it", n.Name)
			}
		}
		webs = now
	}) {
		return
	}

	t.Run("balancer replaced", func(t *testing.T) {
		old := d.swarmHA()
		if old.ID == "" {
			t.Fatal("no balancer task runs")
		}
		start := time.Now()
		mustDocker(t, "kill", old.ID)
		var ha node
		for ha = d.swarmHA(); ha.ID == "" || ha.ID == old.ID; ha = d.swarmHA() {
			if time.Since(start) > swarmLimit {
				t.Fatalf("no new balancer task %s after docker kill", swarmLimit)
			}
			time.Sleep(100 * time.Millisecond)
		}
		running := time.Since(start)
		up, err := waitHTTP(d.url(), swarmLimit)
		if err != nil {
			t.Fatal(err)
		}
		now, took, err := d.waitFollows(swarmLimit, d.swarmWebs)
		if err != nil {
			t.Fatal(err)
		}
		if len(minus(now, webs)) != 0 || len(now) != len(webs) {
			t.Errorf("web app tasks changed while the balancer was replaced: %v, before %v", names(now), names(webs))
		}
		t.Logf("docker kill of the balancer task: the new one (%s) runs %s later, its frontend answers %s after that, all %d web apps served %s after that",
			ha.Name, running.Round(time.Millisecond), up.Round(time.Millisecond), len(now), took.Round(time.Millisecond))
	})
}
