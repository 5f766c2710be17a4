package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corralhq/corral/control"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// runArgs runs the command line and returns stdout, stderr and the code.
func runArgs(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestColumnizeAsPython feeds supervisord 4.2's own command list and
// compares with what its supervisorctl prints for "help".
func TestColumnizeAsPython(t *testing.T) {
	words := strings.Fields("add avail clear exit fg maintail open pid quit reload remove reread restart shutdown signal start status stop tail update version")
	want := []string{
		"add    exit      open  reload  restart   start   tail   ",
		"avail  fg        pid   remove  shutdown  status  update ",
		"clear  maintail  quit  reread  signal    stop    version",
	}
	got := columnize(words, 79)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("columnize:\n%q\nwant\n%q", got, want)
	}
}

func TestHelpGolden(t *testing.T) {
	var all strings.Builder
	out, _, code := runArgs("help")
	if code != 0 {
		t.Errorf("help: exit %d", code)
	}
	all.WriteString("$ supervisorctl help\n" + out)
	for _, name := range []string{"status", "start", "stop", "restart", "signal", "pid", "tail", "reread", "update", "shutdown", "version", "help", "bogus"} {
		out, _, _ := runArgs("help", name)
		all.WriteString("$ supervisorctl help " + name + "\n" + out)
	}
	path := filepath.Join("testdata", "help.golden")
	if *update {
		if err := os.WriteFile(path, []byte(all.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (go test -update writes it): %v", err)
	}
	if all.String() != string(want) {
		t.Errorf("help output differs from %s:\n%s", path, all.String())
	}
}

func TestSocketChoiceAndConnectionErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	t.Setenv("CORRAL_SOCKET", filepath.Join(dir, "from-env.sock"))
	for _, tc := range []struct {
		args []string
		out  string
		code int
	}{
		{[]string{"status"}, "unix://" + dir + "/from-env.sock no such file\n", 4},
		{[]string{"-s", missing, "status"}, "unix://" + missing + " no such file\n", 4},
		{[]string{"--serverurl", "unix://" + missing, "status"}, "unix://" + missing + " no such file\n", 4},
		{[]string{"--serverurl=unix://" + missing, "stop", "x"}, "unix://" + missing + " no such file\n", 7},
		{[]string{"-s", missing, "shutdown"}, "ERROR: unix://" + missing + " no such file (already shut down?)\n", 1},
		{[]string{"-s", missing, "start"}, "Error: start requires a process name\n", 2},
		{[]string{"-s", missing, "tail"}, "Error: too few arguments\n", 1},
		{[]string{"-s", missing, "tail", "-x", "web"}, "Error: bad argument -x\n", 1},
		{[]string{"-s", missing, "reread", "extra"}, "Error: reread accepts no arguments\n", 1},
		{[]string{"-s", missing, "version", "extra"}, "Error: version accepts no arguments\n", 1},
		{[]string{"-s", missing, "nonsense", "a"}, "*** Unknown syntax: nonsense a\n", 1},
	} {
		out, _, code := runArgs(tc.args...)
		if code != tc.code || !strings.HasPrefix(out, tc.out) {
			t.Errorf("%v: exit %d, %q; want exit %d, %q", tc.args, code, out, tc.code, tc.out)
		}
	}
	// A socket nobody listens on: refused.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if out, _, code := runArgs("-s", stale, "status"); code != 4 || out != "unix://"+stale+" refused connection\n" {
		t.Errorf("status on a dead socket: exit %d, %q", code, out)
	}
	if _, _, code := runArgs("--bogus"); code != 2 {
		t.Errorf("unknown option: exit %d, want 2", code)
	}
}

func TestResultLines(t *testing.T) {
	for _, tc := range []struct {
		code control.Code
		o    op
		line string
		exit int
	}{
		{control.CodeOK, opStart, "x: started", 0},
		{control.CodeOK, opStop, "x: stopped", 0},
		{control.CodeOK, opSignal, "x: signalled", 0},
		{control.CodeAlreadyStarted, opStart, "x: ERROR (already started)", 0},
		{control.CodeNotRunning, opStop, "x: ERROR (not running)", 0},
		{control.CodeNotRunning, opSignal, "x: ERROR (not running)", 7},
		{control.CodeSpawnError, opStart, "x: ERROR (spawn error)", 7},
		{control.CodeAbnormal, opStart, "x: ERROR (abnormal termination)", 7},
		{control.CodeNoSuchProcess, opStart, "x: ERROR (no such process)", 1},
		{control.CodeNoSuchGroup, opStart, "x: ERROR (no such group)", 2},
		{control.CodeNoSuchGroup, opStop, "x: ERROR (no such group)", 1},
		{control.CodeBadSignal, opSignal, "x: ERROR (bad signal name)", 1},
		{control.CodeFailed, opStop, "x: ERROR (boom)", 1},
	} {
		success := map[op]string{opStart: "started", opStop: "stopped", opSignal: "signalled"}[tc.o]
		line, exit := resultLine(control.Result{Name: "x", Code: tc.code, Error: "boom"}, success, tc.o)
		if line != tc.line || exit != tc.exit {
			t.Errorf("%s/%d: %q exit %d, want %q exit %d", tc.code, tc.o, line, exit, tc.line, tc.exit)
		}
	}
}
