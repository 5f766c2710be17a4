package cluster

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// statServers returns the servers of HAProxy's web backend, every state
// included, from `show stat` on the balancer's stats socket: name -> status.
func (b *balancer) statServers() (map[string]string, error) {
	c, err := net.DialTimeout("unix", b.admin, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "show stat\n"); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(c)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimPrefix(string(out), "# "), "\n")
	col := map[string]int{}
	for i, h := range strings.Split(lines[0], ",") {
		col[h] = i
	}
	if _, ok := col["status"]; !ok {
		return nil, fmt.Errorf("show stat: no status column in %q", lines[0])
	}
	srv := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) <= col["status"] || f[col["pxname"]] != "web" || f[col["svname"]] == "BACKEND" {
			continue
		}
		srv[f[col["svname"]]] = f[col["status"]]
	}
	return srv, nil
}

// safeName is what the template plugin lets through as a server name.
var safeName = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,253}$`)

// aliveWebs returns the sorted names of the members the balancer's Serf
// agent (`serf members`) has alive with role web and a name the template
// accepts.
func (b *balancer) aliveWebs() []string {
	var names []string
	for n, m := range b.members() {
		if m.Status == "alive" && m.Tags["role"] == "web" && safeName.MatchString(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// namesDiffer compares HAProxy's web servers with the alive web members:
// "" when the names are the same and every server is UP, else what differs.
func (b *balancer) namesDiffer() string {
	srv, err := b.statServers()
	if err != nil {
		return err.Error()
	}
	var got, notUp []string
	for n, st := range srv {
		got = append(got, n)
		if !strings.HasPrefix(st, "UP") {
			notUp = append(notUp, n+" "+st)
		}
	}
	sort.Strings(got)
	want := b.aliveWebs()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		return fmt.Sprintf("HAProxy's servers are %v, the alive web members %v", got, want)
	}
	if len(notUp) > 0 {
		sort.Strings(notUp)
		return fmt.Sprintf("servers not UP: %v", notUp)
	}
	return ""
}

// waitNamesFollow waits until HAProxy's servers in the web backend are
// exactly the alive web members, by name, all UP (`show stat` against
// `serf members`), and returns the names.
func (b *balancer) waitNamesFollow(t *testing.T, limit time.Duration, when string) []string {
	t.Helper()
	start := time.Now()
	for why := b.namesDiffer(); why != ""; why = b.namesDiffer() {
		if time.Since(start) > limit {
			t.Fatalf("%s: after %s: %s", when, limit, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
	names := b.aliveWebs()
	t.Logf("%s: HAProxy's servers are the alive members %v", when, names)
	return names
}
