package logforward

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/supervisor/logfile"
	"github.com/corralhq/corral/supervisor/output"
)

// childEnv carries a child process's forwarder settings.
const childEnv = "LOGFORWARD_TEST_CHILD"

type childConfig struct {
	LogDir string
	Config Config
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		runChild(cfg)
		return
	}
	os.Exit(m.Run())
}

// runChild hosts a forwarder until the process is killed, like corral would.
func runChild(cfg string) {
	var c childConfig
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	h := newTestHost(c.LogDir)
	f := &Plugin{Config: c.Config}
	if err := f.Provision(h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := f.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	select {}
}

// startChild runs a forwarder in a child process.
func startChild(t *testing.T, c childConfig) *exec.Cmd {
	t.Helper()
	b, _ := json.Marshal(c)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// TestCrashMidStream kills the process hosting the forwarder with SIGKILL
// twice while services write, and starts it again: every line arrives, and
// each crash resends at most about one batch.
func TestCrashMidStream(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	logDir := t.TempDir()
	sinks := map[string]*logfile.Sink{}
	for _, svc := range []string{"a", "b"} {
		sinks[svc] = openSink(t, logDir, svc, logfile.Options{MaxSize: 256 << 10, Keep: 100000})
	}
	const batch = 64 << 10
	cc := childConfig{LogDir: logDir, Config: Config{Address: fmt.Sprintf("127.0.0.1:%d", c.tcp), BatchSize: batch}}
	n := 0
	write := func(lines int) {
		for i := 0; i < lines; i += 1000 {
			for svc, s := range sinks {
				writeLines(s, svc, output.Stdout, n+1, n+1000)
				s.Flush()
			}
			n += 1000
		}
	}
	const kills = 3
	for k := 0; k < kills; k++ {
		write(20000) // a backlog, so that the kill lands mid-stream
		arrived := c.count()
		child := startChild(t, cc)
		deadline := time.Now().Add(20 * time.Second)
		for c.count() < arrived+3000 {
			if time.Now().After(deadline) {
				t.Fatalf("the forwarder does not forward: %d messages", c.count())
			}
			time.Sleep(time.Millisecond)
		}
		t.Logf("kill %d at %d messages", k, c.count())
		child.Process.Signal(syscall.SIGKILL)
		child.Wait()
		if got := c.count(); got >= 2*n {
			t.Fatalf("the kill came after the backlog was sent (%d messages)", got)
		}
	}
	startChild(t, cc)
	write(1000)
	r := waitAll(t, c, map[string]int{"a/stdout": n, "b/stdout": n}, 60*time.Second)
	// A message is about 270 bytes; one batch is about 240 of them.
	perBatch := batch / 260
	t.Logf("%d lines per stream, %d dupes after %d crashes (one batch: ~%d lines)", n, r.dupes, kills, perBatch)
	if r.dupes > kills*perBatch {
		t.Fatalf("%d dupes after %d crashes: more than one batch (%d lines) each", r.dupes, kills, perBatch)
	}
}
