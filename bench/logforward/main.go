// Command logforward-bench measures corral's logforward plugin beside
// rsyslog's own file-to-TCP relay (imfile + omfwd), doing the same job in
// the same run: forward N 200-byte lines from a log file to an rsyslog
// collector on loopback (imptcp, octet-counted framing), and report lines
// per second and CPU seconds per million lines of the forwarding process.
//
//	go run ./bench/logforward -lines 1000000
//
// Needs rsyslogd (Debian package rsyslog). Each forwarder runs as its own
// process; its CPU time comes from wait4's rusage after a graceful stop.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/corralhq/corral/plugins/logforward"
	"github.com/corralhq/corral/plugins/plugintest"
	"github.com/corralhq/corral/supervisor/logfile"
	"github.com/corralhq/corral/supervisor/output"
)

const childEnv = "LOGFORWARD_BENCH_CHILD"

func main() {
	if cfg := os.Getenv(childEnv); cfg != "" {
		runChild(cfg)
		return
	}
	lines := flag.Int("lines", 1000000, "lines to forward")
	size := flag.Int("size", 200, "bytes per line (without the newline)")
	rounds := flag.Int("rounds", 1, "runs of each forwarder")
	keep := flag.Bool("keep", false, "keep the work directory")
	flag.Parse()
	if err := run(*lines, *size, *rounds, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "logforward-bench:", err)
		os.Exit(1)
	}
}

func run(n, size, rounds int, keep bool) error {
	if _, err := exec.LookPath("rsyslogd"); err != nil {
		return fmt.Errorf("rsyslogd not found: install the Debian package rsyslog")
	}
	work, err := os.MkdirTemp("", "logforward-bench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	logDir := filepath.Join(work, "logs")
	if err := writeLog(logDir, n, size); err != nil {
		return err
	}
	file := logfile.CurrentPath(logDir, "bench", output.Stdout)
	fmt.Printf("forwarding %d lines of %d bytes from %s to an rsyslog collector (imptcp -> omfile) on loopback\n\n", n, size, file)
	fmt.Printf("%-28s %10s %12s %10s %14s\n", "forwarder", "seconds", "lines/s", "cpu s", "cpu s/M lines")
	for r := 0; r < rounds; r++ {
		for _, fw := range []string{"corral logforward", "rsyslog imfile+omfwd"} {
			dir := filepath.Join(work, fmt.Sprintf("run-%d-%d", r, len(fw)))
			res, err := measure(fw, dir, logDir, file, n, size)
			if err != nil {
				return fmt.Errorf("%s: %w", fw, err)
			}
			fmt.Printf("%-28s %10.3f %12.0f %10.3f %14.3f\n", fw, res.wall.Seconds(),
				float64(n)/res.wall.Seconds(), res.cpu.Seconds(), res.cpu.Seconds()/float64(n)*1e6)
		}
	}
	return nil
}

// writeLog writes the log file both forwarders read, through logfile.
func writeLog(logDir string, n, size int) error {
	s, err := logfile.Open(logfile.Options{Dir: logDir, MaxSize: 1 << 40, BufferSize: 16 << 20}, "bench")
	if err != nil {
		return err
	}
	l := output.Line{Service: "bench", Stream: output.Stdout}
	for i := 1; i <= n; i++ {
		l.Text = fmt.Appendf(l.Text[:0], "line %09d ", i)
		for len(l.Text) < size {
			l.Text = append(l.Text, 'x')
		}
		s.WriteLine(&l)
		if i%10000 == 0 {
			s.Flush()
		}
	}
	s.Flush()
	st := s.Stats()
	if err := s.Close(); err != nil {
		return err
	}
	if st.Lines != uint64(n) {
		return fmt.Errorf("wrote %d lines of %d", st.Lines, n)
	}
	return nil
}

type result struct{ wall, cpu time.Duration }

// measure starts a collector, runs one forwarder until the collector has
// every line, stops it and reads its CPU time.
func measure(fw, dir, logDir, file string, n, size int) (result, error) {
	if err := os.MkdirAll(filepath.Join(dir, "collector"), 0o755); err != nil {
		return result{}, err
	}
	port, err := freePort()
	if err != nil {
		return result{}, err
	}
	out := filepath.Join(dir, "received")
	col, err := startRsyslog(filepath.Join(dir, "collector"), fmt.Sprintf(`global(maxMessageSize="128k" workDirectory="%s")
module(load="imptcp")
input(type="imptcp" address="127.0.0.1" port="%d")
template(name="m" type="string" string="%%msg%%\n")
action(type="omfile" file="%s" template="m")
`, filepath.Join(dir, "collector"), port, out))
	if err != nil {
		return result{}, err
	}
	defer stop(col)
	if err := waitListen(port); err != nil {
		return result{}, err
	}
	var cmd *exec.Cmd
	start := time.Now()
	switch fw {
	case "corral logforward":
		b, _ := json.Marshal(childConfig{LogDir: logDir, Address: fmt.Sprintf("127.0.0.1:%d", port), StateDir: filepath.Join(dir, "state")})
		cmd = exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"="+string(b))
		cmd.Stderr = os.Stderr
		err = cmd.Start()
	default:
		rd := filepath.Join(dir, "relay")
		os.MkdirAll(rd, 0o755)
		cmd, err = startRsyslog(rd, fmt.Sprintf(`global(maxMessageSize="128k" workDirectory="%s")
module(load="imfile")
input(type="imfile" file="%s" tag="bench" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" tcp_framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
}
`, rd, file, port))
	}
	if err != nil {
		return result{}, err
	}
	want := int64(n) * int64(size+1)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		fi, err := os.Stat(out)
		if err == nil && fi.Size() >= want {
			break
		}
		if time.Now().After(deadline) {
			stop(cmd)
			return result{}, fmt.Errorf("timed out: %d of %d bytes", fi.Size(), want)
		}
		time.Sleep(2 * time.Millisecond)
	}
	wall := time.Since(start)
	stop(cmd)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(0)
	if ru != nil {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if err := checkReceived(out, n, size); err != nil {
		return result{}, err
	}
	return result{wall: wall, cpu: cpu}, nil
}

// checkReceived checks that every line arrived, exactly once. (The
// collector's queue workers may write batches out of order.)
func checkReceived(path string, n, size int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	seen := make([]bool, n+1)
	got := 0
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		line := b[:i]
		b = b[min(i+1, len(b)):]
		var k int
		if _, err := fmt.Sscanf(string(line[:min(len(line), 14)]), "line %d", &k); err != nil || len(line) != size {
			continue // an rsyslog internal message
		}
		if k < 1 || k > n || seen[k] {
			return fmt.Errorf("line %d received twice or out of range", k)
		}
		seen[k] = true
		got++
	}
	if got != n {
		return fmt.Errorf("received %d distinct lines of %d", got, n)
	}
	return nil
}

func startRsyslog(dir, conf string) (*exec.Cmd, error) {
	cf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("rsyslogd", "-n", "-f", cf, "-i", filepath.Join(dir, "pid"))
	cmd.Stderr = os.Stderr
	return cmd, cmd.Start()
}

// stop stops a process with SIGTERM and waits for it.
func stop(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitListen(port int) error {
	for i := 0; i < 500; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("collector does not listen on %d", port)
}

type childConfig struct {
	LogDir, Address, StateDir string
}

// runChild hosts a logforward plugin until SIGTERM.
func runChild(cfg string) {
	var c childConfig
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	h := plugintest.NewHost(logforward.Name, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	h.SetLogDir(c.LogDir)
	ctx, cancel := signal.NotifyContext(h.Context(), syscall.SIGTERM)
	defer cancel()
	f := &logforward.Plugin{Config: logforward.Config{Address: c.Address, StateDir: c.StateDir}}
	if err := f.Provision(h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := f.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	<-ctx.Done()
	f.Stop(context.Background())
	if errs := h.Failures(); len(errs) > 0 {
		fmt.Fprintln(os.Stderr, "logforward failed:", errs[0])
		os.Exit(1)
	}
}
