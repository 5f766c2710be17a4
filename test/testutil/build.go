package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Module is the import path of corral's module.
const Module = "github.com/corralhq/corral"

// Build builds the module's commands (such as "cmd/corral") into dir, as
// static binaries named after their last path element, and returns their
// paths in the same order. With CORRAL_TEST_RACE=1, cmd/corral is built
// with the race detector (the engine under test), which needs cgo.
func Build(dir string, cmds ...string) ([]string, error) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			return nil, fmt.Errorf("the go tool is needed to build %v", cmds)
		}
	}
	out := make([]string, 0, len(cmds))
	for _, c := range cmds {
		bin := filepath.Join(dir, filepath.Base(c))
		args := []string{"build", "-o", bin}
		env := append(os.Environ(), "CGO_ENABLED=0")
		if c == "cmd/corral" && os.Getenv("CORRAL_TEST_RACE") == "1" {
			args = append(args, "-race")
			env = os.Environ()
		}
		pkg := c
		if !filepath.IsAbs(c) && !isRelative(c) {
			pkg = Module + "/" + c
		}
		cmd := exec.Command(gobin, append(args, pkg)...)
		cmd.Env = env
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s: %w\n%s", c, err, b)
		}
		out = append(out, bin)
	}
	return out, nil
}

func isRelative(p string) bool {
	return len(p) > 1 && p[0] == '.' && (p[1] == '/' || (p[1] == '.' && len(p) > 2 && p[2] == '/'))
}
