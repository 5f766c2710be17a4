package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// composeFile is the repository's compose.yaml, the file both the Compose
// and the Swarm tests deploy, as a user would.
var composeFile, _ = filepath.Abs("../../compose.yaml")

// serverNamesAreNodeNames: HAProxy's servers carry the Serf members' names.
// Not yet (issue 11, item 3): the runtime-API mode renders 64 slots named
// web1..web64, so the checks compare the servers' addresses with the
// running containers' and the names with the nodes that answer. Set it to
// true once the servers are named after the members: the checks then also
// compare the server names with the running containers' host names.
const serverNamesAreNodeNames = false

// deployment is one run of compose.yaml, by docker-compose (a project) or
// by docker stack deploy (a stack), named e2e<id>, with its own secrets and
// free host ports.
type deployment struct {
	t            testing.TB
	name         string
	port         int // the balancer, published on the host
	statsPort    int // HAProxy's stats page
	keyFile      string
	passwordFile string
	password     string
}

// newDeployment makes the secrets and picks the ports; nothing runs yet.
func newDeployment(t testing.TB) *deployment {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	d := &deployment{t: t, name: "e2e" + hex.EncodeToString(b), password: hex.EncodeToString(b) + "-pw"}
	dir := t.TempDir()
	key := make([]byte, 32)
	rand.Read(key)
	d.keyFile = filepath.Join(dir, "gossip.key")
	d.passwordFile = filepath.Join(dir, "stats.password")
	if err := os.WriteFile(d.keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.passwordFile, []byte(d.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.port, d.statsPort = freePort(t), freePort(t)
	for d.statsPort == d.port {
		d.statsPort = freePort(t)
	}
	return d
}

// freePort returns a TCP port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// env is the environment compose.yaml is read with.
func (d *deployment) env() []string {
	return append(os.Environ(),
		"HA_IMAGE="+haImage, "WEBAPP_IMAGE="+webappImage,
		"DEMO_PORT="+strconv.Itoa(d.port), "DEMO_STATS_PORT="+strconv.Itoa(d.statsPort),
		"DEMO_KEY_FILE="+d.keyFile, "DEMO_PASSWORD_FILE="+d.passwordFile)
}

// network is the deployment's network, as both tools name it.
func (d *deployment) network() string { return d.name + "_corral" }

// url is the balancer's frontend on the host.
func (d *deployment) url() string { return fmt.Sprintf("http://127.0.0.1:%d/", d.port) }

// node is a web app container: its host name (the Serf node name and the
// name it answers with) and its address on the deployment's network.
type node struct {
	ID, Name, IP string
	Started      time.Time
}

// containers returns the running containers matching the docker ps
// filters, by host name.
func (d *deployment) containers(filters ...string) map[string]node {
	d.t.Helper()
	args := []string{"ps", "-q"}
	for _, f := range filters {
		args = append(args, "--filter", f)
	}
	ids := strings.Fields(mustDocker(d.t, args...))
	nodes := map[string]node{}
	if len(ids) == 0 {
		return nodes
	}
	out, err := docker(append([]string{"inspect"}, ids...)...)
	if err != nil {
		// A container may be gone between ps and inspect; ask again.
		time.Sleep(100 * time.Millisecond)
		return d.containers(filters...)
	}
	var info []struct {
		ID     string
		Config struct{ Hostname string }
		State  struct {
			Running   bool
			StartedAt time.Time
		}
		NetworkSettings struct {
			Networks map[string]struct{ IPAddress string }
		}
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		d.t.Fatal(err)
	}
	for _, c := range info {
		if !c.State.Running {
			continue
		}
		nodes[c.Config.Hostname] = node{ID: c.ID, Name: c.Config.Hostname,
			IP: c.NetworkSettings.Networks[d.network()].IPAddress, Started: c.State.StartedAt}
	}
	return nodes
}

// server is one server of HAProxy's web backend, from its stats (the CSV of
// `show stat`).
type server struct {
	Name, Addr, Status string
}

// servers returns the web backend's servers that are not in maintenance
// (free slots are), from the stats page's CSV export.
func (d *deployment) servers() ([]server, error) {
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/;csv", d.statsPort), nil)
	req.SetBasicAuth("admin", d.password)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("stats page: %s", resp.Status)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "# ")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("stats CSV: %v", err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"pxname", "svname", "status", "addr"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("stats CSV has no %s column", h)
		}
	}
	var out []server
	for _, row := range rows[1:] {
		if len(row) <= col["addr"] || row[col["pxname"]] != "web" {
			continue
		}
		s := server{Name: row[col["svname"]], Addr: row[col["addr"]], Status: row[col["status"]]}
		if s.Name == "FRONTEND" || s.Name == "BACKEND" || strings.HasPrefix(s.Status, "MAINT") {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// follows compares what the balancer does with the running web apps: the
// servers in service are exactly theirs, all UP, and exactly they answer
// requests. It returns "" when all agree, else what differs.
func (d *deployment) follows(want map[string]node) string {
	srv, err := d.servers()
	if err != nil {
		return err.Error()
	}
	var wantAddrs, wantNames, gotAddrs, gotNames, notUp []string
	for _, n := range want {
		wantAddrs = append(wantAddrs, n.IP+":8080")
		wantNames = append(wantNames, n.Name)
	}
	for _, s := range srv {
		gotAddrs = append(gotAddrs, s.Addr)
		gotNames = append(gotNames, s.Name)
		if s.Status != "UP" {
			notUp = append(notUp, s.Name+" "+s.Addr+" "+s.Status)
		}
	}
	sort.Strings(wantAddrs)
	sort.Strings(wantNames)
	sort.Strings(gotAddrs)
	sort.Strings(gotNames)
	switch {
	case !slices.Equal(gotAddrs, wantAddrs):
		return fmt.Sprintf("HAProxy's servers in service are at %v, the running web apps at %v", gotAddrs, wantAddrs)
	case serverNamesAreNodeNames && !slices.Equal(gotNames, wantNames):
		return fmt.Sprintf("HAProxy's servers are %v, the running web apps %v", gotNames, wantNames)
	case len(notUp) > 0:
		return fmt.Sprintf("HAProxy's servers not UP: %v", notUp)
	}
	if got := served(d.url(), 3*len(want)+3); !slices.Equal(got, wantNames) {
		return fmt.Sprintf("answers come from %v, the running web apps are %v", got, wantNames)
	}
	return ""
}

// waitFollows waits until the balancer follows the running web apps that
// webs returns (asked again on each try, as tasks come and go), and
// returns them and how long it took.
func (d *deployment) waitFollows(limit time.Duration, webs func() map[string]node) (map[string]node, time.Duration, error) {
	start := time.Now()
	var why string
	for {
		want := webs()
		if why = d.follows(want); why == "" {
			return want, time.Since(start), nil
		}
		if time.Since(start) > limit {
			return want, time.Since(start), fmt.Errorf("after %s: %s", limit, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// watch records, until stopped, when each address first shows UP in
// HAProxy's web backend and when each one last did.
type watch struct {
	d        *deployment
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	firstUp  map[string]time.Time
	lastSeen map[string]time.Time
}

func (d *deployment) watch() *watch {
	w := &watch{d: d, stop: make(chan struct{}), done: make(chan struct{}),
		firstUp: map[string]time.Time{}, lastSeen: map[string]time.Time{}}
	go func() {
		defer close(w.done)
		for {
			srv, err := d.servers()
			now := time.Now()
			if err == nil {
				w.mu.Lock()
				for _, s := range srv {
					ip, _, _ := strings.Cut(s.Addr, ":")
					if _, ok := w.firstUp[ip]; !ok && s.Status == "UP" {
						w.firstUp[ip] = now
					}
					w.lastSeen[ip] = now
				}
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *watch) Stop() {
	close(w.stop)
	<-w.done
}

// durations summarizes figures: "n=17 p50 420ms max 870ms".
func durations(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n=0"
	}
	slices.Sort(ds)
	return fmt.Sprintf("n=%d min %s p50 %s max %s", len(ds), ds[0].Round(time.Millisecond),
		ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
}

// upAfterStart returns, for each node in added, the time from its
// container's start to its first UP in HAProxy.
func (w *watch) upAfterStart(added map[string]node) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ds []time.Duration
	for _, n := range added {
		if t, ok := w.firstUp[n.IP]; ok {
			ds = append(ds, t.Sub(n.Started))
		}
	}
	return ds
}

// outBeforeExit returns, for each node in removed whose container can still
// be inspected, how long before its container exited HAProxy last listed
// it in service (negative: after).
func (w *watch) outBeforeExit(removed map[string]node) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ds []time.Duration
	for _, n := range removed {
		out, err := docker("inspect", "-f", "{{.State.FinishedAt}}", n.ID)
		if err != nil {
			continue
		}
		exited, err := time.Parse(time.RFC3339Nano, out)
		if last, ok := w.lastSeen[n.IP]; ok && err == nil && !exited.IsZero() && exited.Year() > 1 {
			ds = append(ds, exited.Sub(last))
		}
	}
	return ds
}

// names returns the sorted host names of nodes.
func names(nodes map[string]node) []string {
	var ns []string
	for n := range nodes {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// minus returns the nodes of a not in b.
func minus(a, b map[string]node) map[string]node {
	out := map[string]node{}
	for k, v := range a {
		if _, ok := b[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// dumpLogs writes the last lines of the containers' logs into the test's
// output; called before cleanup when a test failed.
func dumpLogs(t testing.TB, filter string) {
	ids, _ := docker("ps", "-aq", "--filter", filter)
	for _, id := range strings.Fields(ids) {
		name, _ := docker("inspect", "-f", "{{.Name}}", id)
		logs, _ := exec.Command("docker", "logs", "--tail", "40", id).CombinedOutput()
		t.Logf("---- docker logs --tail 40 %s ----\n%s", name, logs)
	}
}
