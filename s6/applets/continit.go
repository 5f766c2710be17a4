package applets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// listScripts lists dir as s6-overlay's runners do (s6-ls | s6-sort):
// every entry not starting with '.', in byte order.
func listScripts(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// runScript runs path with the runner's stdio; it returns the exit code
// (128+signal when killed, 126/127 when it cannot run). With a limit, the
// script is SIGKILLed past it (s6-maximumtime -k).
func runScript(path string, limit time.Duration) int {
	ctx := context.Background()
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
	if errors.Is(err, fs.ErrNotExist) {
		return 127
	}
	return 126
}

// contInit runs /etc/cont-init.d as s6-overlay's legacy-cont-init does:
// each script in name order, one after another, whatever the previous one
// returned; with S6_BEHAVIOUR_IF_STAGE2_FAILS >= 1 a failure is a warning,
// with 2 it fails the oneshot (and the container stops).
func contInit(argv []string) int {
	const prog = "cont-init"
	if len(argv) != 2 {
		return usage(prog, "s6-cont-init dir")
	}
	dir := argv[1]
	v := s6num("S6_VERBOSITY", 2)
	failed := false
	for _, f := range listScripts(dir) {
		path := filepath.Join(dir, f)
		if v >= 2 {
			fmt.Fprintf(os.Stderr, "cont-init: info: running %s\n", path)
		}
		code := runScript(path, 0)
		if v >= 2 {
			fmt.Fprintf(os.Stderr, "cont-init: info: %s exited %d\n", path, code)
		}
		failed = failed || code != 0
	}
	if b := s6num("S6_BEHAVIOUR_IF_STAGE2_FAILS", 0); failed && b != 0 {
		if v >= 1 {
			fmt.Fprintln(os.Stderr, "cont-init: warning: some scripts exited nonzero")
		}
		if b >= 2 {
			return 1
		}
	}
	return 0
}

// contFinish runs /etc/cont-finish.d as s6-overlay does at shutdown: each
// script in name order, failures ignored, each killed past
// S6_KILL_FINISH_MAXTIME (0: no limit).
func contFinish(argv []string) int {
	const prog = "cont-finish"
	if len(argv) != 2 {
		return usage(prog, "s6-cont-finish dir")
	}
	dir := argv[1]
	v := s6num("S6_VERBOSITY", 2)
	limit := time.Duration(s6num("S6_KILL_FINISH_MAXTIME", 0)) * time.Millisecond
	for _, f := range listScripts(dir) {
		path := filepath.Join(dir, f)
		if v >= 2 {
			fmt.Fprintf(os.Stderr, "cont-finish: info: running %s\n", path)
		}
		runScript(path, limit)
	}
	return 0
}
