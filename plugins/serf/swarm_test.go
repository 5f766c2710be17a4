package serf

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/corralhq/corral/test/netns"
)

// TestJoinEveryAddress: a join target that is a name with several
// addresses (Docker Swarm's tasks.<service>, one A record per task) is
// joined at each address: two seeds that do not know each other both get
// the joiner, and so each other. The join entry comes from the
// environment, as a Swarm deployment sets it.
func TestJoinEveryAddress(t *testing.T) {
	nw := netns.New(t, subnet, 3)
	a := startNode(t, nw.Node(0), "task-a", "")
	b := startNode(t, nw.Node(1), "task-b", "")
	// tasks.web has both seeds' addresses in the joiner's hosts file.
	hosts := filepath.Join("/etc/netns", nw.Node(2).NS, "hosts")
	f, err := os.OpenFile(hosts, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s\ttasks.web\n%s\ttasks.web\n", nw.Node(0).Addr, nw.Node(1).Addr)
	f.Close()
	t.Setenv("SERF_JOIN", "tasks.web") // the helper inherits it
	startNode(t, nw.Node(2), "joiner", `join = ["${SERF_JOIN:-ha}"]`+"\nretry_interval = \"200ms\"")
	for _, n := range []*node{a, b} {
		n.waitFor(t, 20*time.Second, "all three alive", aliveIs("joiner", "task-a", "task-b"))
	}
}
