package e2e

import (
	"encoding/json"
	"testing"
	"time"
)

// TestSerfCLIInImages: Debian's serf CLI is in both images (the base image
// installs it) and talks to corral's embedded agent: `serf members` inside
// the balancer and inside a web app lists both nodes alive, with their
// tags, as plugins/serf/README.md tells users to run it.
func TestSerfCLIInImages(t *testing.T) {
	c := newCluster(t)
	c.runHA()
	c.runWeb("web1")
	c.waitHAUp()
	if _, err := c.waitServed(startLimit, "web1"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ha", "web1"} {
		var members struct {
			Members []struct {
				Name   string            `json:"name"`
				Status string            `json:"status"`
				Tags   map[string]string `json:"tags"`
			} `json:"members"`
		}
		var out string
		deadline := time.Now().Add(10 * time.Second)
		for {
			var err error
			out, err = c.exec(n, "serf", "members", "-format=json")
			if err == nil && json.Unmarshal([]byte(out), &members) == nil && len(members.Members) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("serf members -format=json in %s: %v\n%s", n, err, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
		roles := map[string]string{}
		for _, m := range members.Members {
			if m.Status != "alive" {
				t.Errorf("serf members in %s: %s is %s", n, m.Name, m.Status)
			}
			roles[m.Name] = m.Tags["role"]
		}
		if roles["ha"] != "balancer" || roles["web1"] != "web" {
			t.Errorf("serf members in %s: roles %v\n%s", n, roles, out)
		}
		text, err := c.exec(n, "serf", "members")
		if err != nil {
			t.Fatalf("serf members in %s: %v\n%s", n, err, text)
		}
		t.Logf("docker exec %s serf members:\n%s", c.name(n), text)
	}
}
