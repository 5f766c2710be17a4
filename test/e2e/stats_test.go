package e2e

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// server is one server of HAProxy's web backend, from its stats (the CSV of
// `show stat`).
type server struct {
	Name, Addr, Status string
}

// maint reports whether the server is in maintenance: draining before
// HAProxy deletes it.
func (s server) maint() bool { return strings.HasPrefix(s.Status, "MAINT") }

// statsServers reads the web backend's servers, every state included, from
// the stats page at url (its CSV export, ";csv"), as user admin.
func statsServers(url, password string) ([]server, error) {
	req, _ := http.NewRequest("GET", url+";csv", nil)
	req.SetBasicAuth("admin", password)
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
		if s.Name == "FRONTEND" || s.Name == "BACKEND" {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// serverNames returns the sorted names of servers.
func serverNames(srv []server) []string {
	var n []string
	for _, s := range srv {
		n = append(n, s.Name)
	}
	sort.Strings(n)
	return n
}

// waitNames waits until the balancer's stats page lists exactly the web
// apps want, by name (their host names, which are their Serf node names),
// all UP, and returns how long it took.
func (c *cluster) waitNames(limit time.Duration, want ...string) (time.Duration, error) {
	c.t.Helper()
	url := "http://" + c.ip("ha") + ":1936/"
	sort.Strings(want)
	start := time.Now()
	why := ""
	for time.Since(start) < limit {
		srv, err := statsServers(url, c.statsPassword)
		switch {
		case err != nil:
			why = err.Error()
		case !slices.Equal(serverNames(srv), want):
			why = fmt.Sprintf("HAProxy's servers are %v, want %v", serverNames(srv), want)
		default:
			why = ""
			for _, s := range srv {
				if !strings.HasPrefix(s.Status, "UP") {
					why = fmt.Sprintf("server %s is %s", s.Name, s.Status)
				}
			}
			if why == "" {
				return time.Since(start), nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("after %s: %s", limit, why)
}
