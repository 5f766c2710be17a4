package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The images in the ways production runs them (issue 10): a read-only root,
// a non-root user, a log collector that never answers. In each, the web app
// is served and the main command's exit code is the container's.

// runMain runs the web app image with a main command and returns its exit
// code, its output and how long docker run took.
func runMain(t *testing.T, args []string, script string) (int, string, time.Duration) {
	t.Helper()
	all := append(append([]string{"run", "--rm"}, args...), webappImage, "sh", "-c", script)
	began := time.Now()
	out, err := exec.Command("docker", all...).CombinedOutput()
	took := time.Since(began)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(all, " "), err)
	}
	return code, string(out), took
}

func TestReadOnlyAndNonRoot(t *testing.T) {
	c := newCluster(t)
	for name, args := range map[string][]string{
		"read-only root":            {"--read-only", "--tmpfs", "/run"},
		"user 1000":                 {"--user", "1000"},
		"read-only root, user 1000": {"--read-only", "--tmpfs", "/tmp:rw,mode=1777", "--user", "1000"},
	} {
		t.Run(name, func(t *testing.T) {
			args := append(args, "--label", c.label())
			code, out, took := runMain(t, args, "supervisorctl status webapp && exit 3")
			t.Logf("docker run %s ... sh -c 'exit 3': %s", strings.Join(args, " "), took.Round(time.Millisecond))
			if code != 3 {
				t.Fatalf("exit code %d, want 3 (supervisorctl status webapp, then exit 3):\n%s", code, out)
			}
			if !strings.Contains(out, "webapp") || !strings.Contains(out, "RUNNING") {
				t.Fatalf("supervisorctl does not show the web app running:\n%s", out)
			}
			if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
				t.Fatalf("a crash:\n%s", out)
			}
		})
	}
	t.Run("served with a read-only root", func(t *testing.T) {
		c.runHA()
		c.runWeb("ro1", "--read-only", "--tmpfs", "/run")
		c.waitWebUp("ro1")
	})
}

// TestCollectorNeverAnswers: the log forwarder points at an address on the
// cluster's own network where nothing is (connections hang), so it never
// becomes ready. The web app only wants it: it is still served, and a main
// command still runs and decides the exit code.
func TestCollectorNeverAnswers(t *testing.T) {
	c := newCluster(t)
	c.runHA()
	nowhere := unusedAddr(t, c)
	lf := filepath.Join(t.TempDir(), "logforward.toml")
	body := "plugin = \"logforward\"\n[logforward]\naddress = \"" + nowhere + ":514\"\nprotocol = \"tcp\"\ndial_timeout = \"30s\"\n"
	if err := os.WriteFile(lf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	mount := []string{"-v", lf + ":/etc/services.d/logforward.toml:ro"}
	c.runWeb("w1", mount...)
	c.waitWebUp("w1")
	args := append([]string{"--network", c.network, "--label", c.label(), "-v", c.keyFile + ":/run/secrets/gossip.key:ro"}, mount...)
	code, out, took := runMain(t, args, "exit 3")
	t.Logf("docker run webapp sh -c 'exit 3' with the collector unreachable: %s", took.Round(time.Millisecond))
	if code != 3 {
		t.Fatalf("exit code %d, want 3:\n%s", code, out)
	}
}

// unusedAddr returns an address of the cluster network that no container
// has: connections to it go unanswered (no host answers ARP).
func unusedAddr(t *testing.T, c *cluster) string {
	t.Helper()
	subnet := mustDocker(t, "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", c.network)
	prefix, _, ok := strings.Cut(subnet, ".0/")
	if !ok || strings.Count(prefix, ".") != 2 {
		t.Fatalf("unexpected subnet %q", subnet)
	}
	return prefix + ".250"
}
