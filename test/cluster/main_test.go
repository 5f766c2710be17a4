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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// subnet is this package's test network index: 10.213.73.0/24.
const subnet = 73

// bins are the binaries TestMain builds.
var bins struct {
	corral, supervisorctl, webapp string
}

// buildErr is why the build failed; tests report it (TestMain cannot fail
// a test by name).
var buildErr error

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "corral-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.corral = filepath.Join(dir, "corral")
	bins.supervisorctl = filepath.Join(dir, "supervisorctl")
	bins.webapp = filepath.Join(dir, "webapp")
	for bin, pkg := range map[string]string{
		bins.corral:        "github.com/corralhq/corral/cmd/corral",
		bins.supervisorctl: "github.com/corralhq/corral/cmd/supervisorctl",
		bins.webapp:        "github.com/corralhq/corral/cmd/webapp",
	} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building %s: %v\n%s", pkg, err, out)
			break
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
