// Package cluster tests the dynamic load balancer as a whole, without
// Docker: the real corral, supervisorctl and webapp binaries, HAProxy 2.6 and
// Serf from Debian, each node in a network namespace of its own (test/netns,
// subnet index 73: 10.213.73.0/24) and each corral PID 1 of a PID namespace
// of its own (unshare --pid --fork --mount-proc).
//
// The balancer (node 0, host name "ha") runs haproxy in master-worker mode,
// the serf plugin (role balancer) and the template plugin rendering
// haproxy.cfg; web nodes run webapp and the serf plugin (role web, port tag),
// joining "ha" by name. The test process sends real HTTP through HAProxy's
// frontend from the root namespace.
//
// Needs root and the Debian packages haproxy, serf, iproute2 (ip) and
// util-linux (unshare); the go command builds the binaries in TestMain.
package cluster

import (
	"os"
	"testing"

	"github.com/corralhq/corral/test/testutil"
)

// subnet is this package's test network index: 10.213.73.0/24.
const subnet = 73

// bins are the binaries TestMain builds.
var bins struct {
	corral, supervisorctl, webapp string
}

func TestMain(m *testing.M) {
	testutil.Main(m, func() (func(), error) {
		dir, err := os.MkdirTemp("", "corral-cluster-")
		if err != nil {
			return nil, err
		}
		built, err := testutil.Build(dir, "cmd/corral", "cmd/supervisorctl", "cmd/webapp")
		if err != nil {
			return nil, err
		}
		bins.corral, bins.supervisorctl, bins.webapp = built[0], built[1], built[2]
		return func() { os.RemoveAll(dir) }, nil
	}, testutil.Root, testutil.Command("ip", "iproute2"), testutil.Command("unshare", "util-linux"),
		testutil.Command("haproxy", "haproxy"), testutil.Command("serf", "serf"))
}
