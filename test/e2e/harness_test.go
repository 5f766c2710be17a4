package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/test/testutil"
)

// Images under test, as the Makefile names them.
var (
	haImage     = envOr("HA_IMAGE", "corral/ha:latest")
	webappImage = envOr("WEBAPP_IMAGE", "corral/webapp:latest")
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// TestMain builds the images once through the Makefile, as a user would.
func TestMain(m *testing.M) {
	testutil.Main(m, buildImages, testutil.Root, testutil.Docker, testutil.Command("make", "make"))
}

// buildImages runs `make images` (unless E2E_SKIP_BUILD=1) and checks that
// both images exist.
func buildImages() (func(), error) {
	if os.Getenv("E2E_SKIP_BUILD") != "1" {
		root, err := filepath.Abs("../..")
		if err != nil {
			return nil, err
		}
		start := time.Now()
		cmd := exec.Command("make", "-C", root, "images")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("make images failed (needs make, a Docker engine, debootstrap): %w\n%s", err, out.Bytes())
		}
		fmt.Fprintf(os.Stderr, "e2e: make images took %s\n", time.Since(start).Round(time.Millisecond))
	}
	for _, img := range []string{haImage, webappImage} {
		out, err := exec.Command("docker", "image", "inspect", "-f", "{{.Size}}", img).Output()
		if err != nil {
			return nil, fmt.Errorf("image %s missing: %w", img, err)
		}
		fmt.Fprintf(os.Stderr, "e2e: image %s is %s bytes\n", img, strings.TrimSpace(string(out)))
	}
	return nil, nil
}

// docker runs the docker CLI and returns its trimmed stdout.
func docker(args ...string) (string, error) {
	cmd := exec.Command("docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// mustDocker is docker failing the test on error.
func mustDocker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := docker(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// cluster is one test's Docker network with its own containers, named
// e2e-<id>-<name>. The balancer has the alias "ha" on the network, so the
// images' defaults (join "ha", collector "ha:514") work unchanged.
type cluster struct {
	t             testing.TB
	id            string
	network       string
	keyFile       string
	statsPassword string
}

// newCluster creates the network and a gossip key; everything is removed
// when the test ends.
func newCluster(t testing.TB) *cluster {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	c := &cluster{t: t, id: hex.EncodeToString(b), statsPassword: hex.EncodeToString(b) + "-pw"}
	c.network = "corral-e2e-" + c.id

	key := make([]byte, 32)
	rand.Read(key)
	c.keyFile = filepath.Join(t.TempDir(), "gossip.key")
	if err := os.WriteFile(c.keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustDocker(t, "network", "create", "--label", c.label(), c.network)
	t.Cleanup(c.remove)
	return c
}

func (c *cluster) label() string { return "corral.e2e=" + c.id }

// remove deletes the cluster's containers and network, saving the
// containers' logs in the test output when the test failed.
func (c *cluster) remove() {
	ids, _ := docker("ps", "-aq", "--filter", "label="+c.label())
	if c.t.Failed() {
		names, _ := docker("ps", "-a", "--filter", "label="+c.label(), "--format", "{{.Names}}")
		for _, n := range strings.Fields(names) {
			logs, _ := exec.Command("docker", "logs", "--tail", "60", n).CombinedOutput()
			c.t.Logf("---- docker logs --tail 60 %s ----\n%s", n, logs)
		}
	}
	if ids != "" {
		if _, err := docker(append([]string{"rm", "-f", "-v"}, strings.Fields(ids)...)...); err != nil {
			c.t.Errorf("cleanup: %v", err)
		}
	}
	if _, err := docker("network", "rm", c.network); err != nil {
		c.t.Errorf("cleanup: %v", err)
	}
}

// name is the container name of node n.
func (c *cluster) name(n string) string { return "e2e-" + c.id + "-" + n }

// commonArgs are the docker run flags every node gets.
func (c *cluster) commonArgs(n string) []string { return c.argsWithKey(n, c.keyFile) }

// argsWithKey is commonArgs with another gossip key file.
func (c *cluster) argsWithKey(n, keyFile string) []string {
	return []string{"-d", "--name", c.name(n), "--hostname", n, "--network", c.network,
		"--label", c.label(), "-e", "NODE_NAME=" + n,
		"-v", keyFile + ":/run/secrets/gossip.key:ro"}
}

// runHA starts the balancer as node "ha" (alias ha on the network).
func (c *cluster) runHA(extra ...string) {
	c.t.Helper()
	args := append([]string{"run"}, c.commonArgs("ha")...)
	args = append(args, "--network-alias", "ha", "-e", "STATS_PASSWORD="+c.statsPassword)
	args = append(args, extra...)
	mustDocker(c.t, append(args, haImage)...)
}

// runWeb starts a web app as node n.
func (c *cluster) runWeb(n string, extra ...string) {
	c.t.Helper()
	args := append([]string{"run"}, c.commonArgs(n)...)
	args = append(args, extra...)
	mustDocker(c.t, append(args, webappImage)...)
}

// ip is node n's address on the cluster network.
func (c *cluster) ip(n string) string {
	c.t.Helper()
	ip := mustDocker(c.t, "inspect", "-f", "{{(index .NetworkSettings.Networks \""+c.network+"\").IPAddress}}", c.name(n))
	if ip == "" {
		c.t.Fatalf("%s has no address on %s", c.name(n), c.network)
	}
	return ip
}

// haURL is the balancer's frontend, reached from the host.
func (c *cluster) haURL() string { return "http://" + c.ip("ha") + ":80/" }

// nodeRe finds the answering node in a web app's answer.
var nodeRe = regexp.MustCompile(`^node=(\S+) `)

// client is an HTTP client for one-off requests (no connection reuse, so
// each request is balanced afresh).
var client = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
}

// get returns the node that answered GET url, or an error.
func get(url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	m := nodeRe.FindSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("GET %s: no node in %q", url, body)
	}
	return string(m[1]), nil
}

// served sends n requests through the balancer and returns the sorted
// names of the nodes that answered.
func served(url string, n int) []string {
	seen := map[string]bool{}
	for range n {
		if node, err := get(url); err == nil {
			seen[node] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// waitServed waits up to limit until every node in want answers through
// the balancer (and no other), and returns how long that took.
func (c *cluster) waitServed(limit time.Duration, want ...string) (time.Duration, error) {
	c.t.Helper()
	url := c.haURL()
	sort.Strings(want)
	start := time.Now()
	var got []string
	for time.Since(start) < limit {
		got = served(url, 3*len(want)+3)
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return time.Since(start), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("after %s the balancer serves %v, want %v", limit, got, want)
}

// waitHTTP waits up to limit until url answers at all (any status).
func waitHTTP(url string, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	var err error
	for time.Since(start) < limit {
		var resp *http.Response
		if resp, err = client.Get(url); err == nil {
			resp.Body.Close()
			return time.Since(start), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("%s does not answer after %s: %w", url, limit, err)
}

// logs returns a container's output (stdout and stderr, merged).
func (c *cluster) logs(n string) string {
	out, _ := exec.Command("docker", "logs", c.name(n)).CombinedOutput()
	return string(out)
}

// exec runs a command in node n and returns its output.
func (c *cluster) exec(n string, argv ...string) (string, error) {
	out, err := exec.Command("docker", append([]string{"exec", c.name(n)}, argv...)...).CombinedOutput()
	return string(out), err
}
