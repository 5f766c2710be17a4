package testutil

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// CIVariable, set to 1 by .ci/run, turns every unmet prerequisite into a
// failure: in CI nothing may silently stop being tested.
const CIVariable = "CORRAL_CI"

// InCI reports whether the tests run in CI.
func InCI() bool { return os.Getenv(CIVariable) == "1" }

// Need is a prerequisite of a test package: root, a command from a Debian
// package, the Docker daemon. Check returns why it is not met, or nil.
type Need struct {
	Name  string
	Check func() error
}

// Root is the need for root (PID namespaces, network namespaces, other
// users' credentials).
var Root = Need{"root", func() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root")
	}
	return nil
}}

// Command is the need for a program on PATH from Debian's package pkg.
func Command(name, pkg string) Need {
	return Need{name, func() error {
		if _, err := exec.LookPath(name); err != nil {
			return fmt.Errorf("needs %s (Debian's %s package; make test installs it)", name, pkg)
		}
		return nil
	}}
}

// Docker is the need for a Docker engine that answers.
var Docker = Need{"docker", func() error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errors.New("needs docker (a Docker engine)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return fmt.Errorf("needs a Docker engine that answers (docker info: %v: %s)", err, strings.TrimSpace(string(out)))
	}
	return nil
}}

// unmet returns why the first unmet need is not met, or "".
func unmet(needs []Need) string {
	for _, n := range needs {
		if err := n.Check(); err != nil {
			return err.Error()
		}
	}
	return ""
}

// Main runs a test package whose every test has needs. When one is not met
// it runs no test, says why in one line, and passes ([no tests to run]) —
// except in CI, where it fails. Then setup (may be nil) runs, and a setup
// error fails the package. It calls os.Exit.
func Main(m *testing.M, setup func() (cleanup func(), err error), needs ...Need) {
	flag.Parse()
	if why := unmet(needs); why != "" {
		if InCI() {
			fmt.Fprintf(os.Stderr, "FAIL: %s, and %s=1 forbids skipping\n", why, CIVariable)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "SKIP all tests: %s\n", why)
		_ = flag.Set("test.run", "^$")
		_ = flag.Set("test.bench", "^$")
		os.Exit(m.Run())
	}
	if setup != nil {
		cleanup, err := setup()
		if err != nil {
			fmt.Fprintln(os.Stderr, "test setup:", err)
			os.Exit(1)
		}
		if cleanup != nil {
			code := m.Run()
			cleanup()
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}

// Require skips t when a need is not met, with why — or, in CI, fails it.
func Require(t testing.TB, needs ...Need) {
	t.Helper()
	if why := unmet(needs); why != "" {
		if InCI() {
			t.Fatalf("%s, and %s=1 forbids skipping", why, CIVariable)
		}
		t.Skip(why)
	}
}
