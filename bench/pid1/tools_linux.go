package main

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

//go:embed csrc/*.c
var csrc embed.FS

// tools are the programs a run uses, all absolute paths.
type tools struct {
	// work is the scratch directory every run lives under.
	work string
	// corral is the corral binary under test.
	corral string
	// svc is the benchmark's service (csrc/svc.c), static.
	svc string
	// stampexec records the exec time of the supervisor (csrc/stampexec.c).
	stampexec string
	// sleep is coreutils' sleep, the idle service.
	sleep string
	// sh runs s6's run scripts for sleep services.
	sh                                   string
	unshare, s6svscan, tini, supervisord string
	// gap is slept after each run's namespace is gone.
	gap time.Duration
}

// need is a program the benchmark runs and the Debian package that has it.
type need struct {
	dst  *string
	name string
	pkg  string
}

// findTools checks root, locates the peers and the tools, builds the C
// helpers and (unless corralBin is set) corral itself under work.
func findTools(work, corralBin string) (*tools, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("must run as root (PID namespaces, signals to namespace init)")
	}
	t := &tools{work: work}
	var missing []string
	for _, n := range []need{
		{&t.unshare, "unshare", "util-linux"},
		{&t.s6svscan, "s6-svscan", "s6"},
		{&t.tini, "tini", "tini"},
		{&t.supervisord, "supervisord", "supervisor"},
		{&t.sleep, "sleep", "coreutils"},
		{&t.sh, "sh", "dash"},
		{new(string), "s6-supervise", "s6"},
		{new(string), "gcc", "gcc"},
	} {
		p, err := exec.LookPath(n.name)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", n.name, n.pkg))
			continue
		}
		*n.dst = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing: %s", strings.Join(missing, ", "))
	}
	var err error
	if t.svc, err = buildC(work, "svc"); err != nil {
		return nil, err
	}
	if t.stampexec, err = buildC(work, "stampexec"); err != nil {
		return nil, err
	}
	if corralBin != "" {
		if t.corral, err = filepath.Abs(corralBin); err != nil {
			return nil, err
		}
		return t, nil
	}
	t.corral, err = buildCorral(work)
	return t, err
}

// buildC compiles csrc/name.c into a static binary under work.
func buildC(work, name string) (string, error) {
	src, err := csrc.ReadFile("csrc/" + name + ".c")
	if err != nil {
		return "", err
	}
	c := filepath.Join(work, name+".c")
	if err := os.WriteFile(c, src, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(work, name)
	out, err := exec.Command("gcc", "-O2", "-static", "-Wall", "-o", bin, c).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("compiling %s (static glibc needs Debian package libc6-dev): %w\n%s", name, err, out)
	}
	return bin, nil
}

// buildCorral builds ./cmd/corral the way `make build` does (static,
// stripped), from the module the benchmark lives in.
func buildCorral(work string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(work, "corral")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/corral")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building corral: %w\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot is the directory of the go.mod the current directory is in.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the corral module (go env GOMOD is empty)")
	}
	return filepath.Dir(mod), nil
}
