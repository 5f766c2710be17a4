package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/test/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMain lets the test binary act as a client run under another uid (see
// TestPeerRefused): with CONTROL_TEST_CLIENT set to a socket path it asks
// for the status once, prints the outcome and exits.
func TestMain(m *testing.M) {
	if sock := os.Getenv("CONTROL_TEST_CLIENT"); sock != "" {
		_, err := control.NewClient(sock).Status(context.Background())
		var ce *control.ConnError
		switch {
		case err == nil:
			fmt.Println("ok")
		case errors.As(err, &ce):
			fmt.Printf("%s|%s\n", ce.Kind, ce.Error())
		default:
			fmt.Printf("other|%v\n", err)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fixture is a running server over a fake controller.
type fixture struct {
	fake   *fakeController
	client *control.Client
	sock   string
	logDir string
}

func startServer(t *testing.T, group string, svcs ...control.ServiceStatus) *fixture {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "control.sock")
	ln, err := Listen(sock, group)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	fake := newFake(filepath.Join(dir, "log"), svcs...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, ln, fake, Options{Version: "corral-test 1.2.3", PID: 4242})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		ln.Close()
	})
	return &fixture{fake: fake, client: control.NewClient(sock), sock: sock, logDir: filepath.Join(dir, "log")}
}

func svc(name string, st control.State) control.ServiceStatus {
	s := control.ServiceStatus{Name: name, State: st, Type: "longrun"}
	if st.Up() {
		s.PID = 100 + len(name)
		s.Started = time.Now().Add(-time.Minute)
	}
	return s
}

func TestListenCreatesPrivateSocketAndReplacesStale(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "a", "b", "control.sock")
	// A stale socket: bound, then its listener gone without unlinking.
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()

	ln, err := Listen(sock, "")
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want socket 0600", fi.Mode())
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() {
		t.Errorf("socket owner = %d, want %d", st.Uid, os.Geteuid())
	}
	// A live socket is not taken over.
	if _, err := Listen(sock, ""); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("second Listen on a live socket: err = %v, want already in use", err)
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after Close: %v", err)
	}
	// A regular file in the way is an error, not removed.
	if err := os.WriteFile(sock, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(sock, ""); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a regular file: err = %v", err)
	}
}

func TestListenWithGroup(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	ln, err := Listen(sock, "65534")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer ln.Close()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("mode = %v, want 0660", fi.Mode().Perm())
	}
	if gid := fi.Sys().(*syscall.Stat_t).Gid; gid != 65534 {
		t.Errorf("group = %d, want 65534", gid)
	}
	if _, err := Listen(filepath.Join(t.TempDir(), "x.sock"), "no-such-group-corral"); err == nil {
		t.Error("Listen with an unknown group succeeded")
	}
}

func TestStatusVersionPID(t *testing.T) {
	f := startServer(t, "", svc("web", control.Running), svc("db", control.Stopped))
	ctx := context.Background()
	sr, err := f.client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Services) != 2 || sr.Services[0].Name != "web" || sr.Services[0].State != control.Running ||
		sr.Services[1].State != control.Stopped {
		t.Errorf("status = %+v", sr.Services)
	}
	if time.Since(sr.Now) > time.Minute || sr.Now.IsZero() {
		t.Errorf("now = %v", sr.Now)
	}
	if _, err := f.client.Status(ctx, "nope"); !isAPI(err, control.CodeNoSuchProcess) {
		t.Errorf("status nope: %v", err)
	}
	if v, err := f.client.Version(ctx); err != nil || v != "corral-test 1.2.3" {
		t.Errorf("version = %q, %v", v, err)
	}
	if p, err := f.client.PID(ctx); err != nil || p != 4242 {
		t.Errorf("pid = %d, %v", p, err)
	}
}

func isAPI(err error, c control.Code) bool {
	var ae *control.APIError
	return errors.As(err, &ae) && ae.Code == c
}

// codes reads results as "name=code" strings.
func codes(rs []control.Result) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Name+"="+string(r.Code))
	}
	return strings.Join(s, " ")
}

func TestStartStopSignalSemantics(t *testing.T) {
	f := startServer(t, "",
		svc("web", control.Running), svc("db", control.Stopped), svc("flap", control.Backoff),
		svc("gone", control.Fatal), svc("leaving", control.Stopping))
	ctx := context.Background()
	check := func(what string, rs []control.Result, err error, want string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := codes(rs); got != want {
			t.Errorf("%s = %s, want %s", what, got, want)
		}
	}
	rs, err := f.client.Start(ctx, "web", "db", "nope", "nope:*", "web:other")
	check("start web db nope nope:* web:other", rs, err,
		"web=already_started db=ok nope=no_such_process nope=no_such_group web:other=no_such_process")
	f.fake.failNext["gone"] = fmt.Errorf("starting gone: %w", control.ErrSpawn)
	rs, err = f.client.Start(ctx, "all")
	// all tries what is not RUNNING, BACKOFF or STARTING (FATAL and
	// STOPPING too; the engine refuses the latter).
	check("start all", rs, err, "gone=spawn_error leaving=already_started")
	rs, err = f.client.Stop(ctx, "db:*", "gone", "db")
	check("stop db:* gone db", rs, err, "db=ok gone=not_running db=not_running")
	rs, err = f.client.Signal(ctx, "hup", "web", "db", "nope")
	check("signal hup", rs, err, "web=ok db=not_running nope=no_such_process")
	rs, err = f.client.Signal(ctx, "BOGUS", "web")
	check("signal BOGUS", rs, err, "web=bad_signal")
	rs, err = f.client.Signal(ctx, "12", "all")
	check("signal 12 all", rs, err, "web=ok leaving=ok")
	if got, want := strings.Join(f.fake.signals, " "), "web:1 web:12 leaving:12"; got != want {
		t.Errorf("signals sent = %s, want %s", got, want)
	}
	rs, err = f.client.Stop(ctx, "all")
	check("stop all", rs, err, "web=ok flap=ok")
	rs, err = f.client.Restart(ctx, "web")
	check("restart web", rs, err, "web=ok")
	if _, err := f.client.Start(ctx); !isAPI(err, control.CodeBadRequest) {
		t.Errorf("start with no names: %v", err)
	}
}

func TestRereadUpdateShutdown(t *testing.T) {
	f := startServer(t, "", svc("web", control.Running))
	f.fake.diff = control.ConfigDiff{Added: []string{"new"}, Errors: []string{"bad.toml:1: x"}}
	ctx := context.Background()
	d, err := f.client.Reread(ctx)
	if err != nil || len(d.Added) != 1 || d.Added[0] != "new" || len(d.Errors) != 1 {
		t.Errorf("reread = %+v, %v", d, err)
	}
	if f.fake.applied != 0 {
		t.Error("reread applied the diff")
	}
	if d, err := f.client.Update(ctx); err != nil || len(d.Added) != 1 || f.fake.applied != 1 {
		t.Errorf("update = %+v, %v (applied %d)", d, err, f.fake.applied)
	}
	if err := f.client.Shutdown(ctx); err != nil || !f.fake.shutdown {
		t.Errorf("shutdown: %v (done %v)", err, f.fake.shutdown)
	}
}

func writeLog(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestTail(t *testing.T) {
	f := startServer(t, "", svc("web", control.Running), svc("quiet", control.Running))
	ctx := context.Background()
	cur := filepath.Join(f.logDir, "web", "current")
	var all strings.Builder
	for i := 1; i <= 500; i++ {
		fmt.Fprintf(&all, "line %03d\n", i)
	}
	writeLog(t, cur, all.String())
	writeLog(t, filepath.Join(f.logDir, "web", "stderr", "current"), "oops\n")

	get := func(req control.TailRequest) (string, error) {
		var b strings.Builder
		err := f.client.Tail(ctx, req, &b)
		return b.String(), err
	}
	if got, err := get(control.TailRequest{Name: "web", Lines: 3}); err != nil || got != "line 498\nline 499\nline 500\n" {
		t.Errorf("last 3 lines = %q, %v", got, err)
	}
	if got, err := get(control.TailRequest{Name: "web", Bytes: 9}); err != nil || got != "line 500\n" {
		t.Errorf("last 9 bytes = %q, %v", got, err)
	}
	if got, err := get(control.TailRequest{Name: "web"}); err != nil || len(got) != 1600 || !strings.HasSuffix(got, "line 500\n") {
		t.Errorf("default tail: %d bytes, %v", len(got), err)
	}
	if got, err := get(control.TailRequest{Name: "web", Lines: 1000}); err != nil || got != all.String() {
		t.Errorf("more lines than the file: %d bytes, %v", len(got), err)
	}
	if got, err := get(control.TailRequest{Name: "web", Stream: "stderr"}); err != nil || got != "oops\n" {
		t.Errorf("stderr = %q, %v", got, err)
	}
	if _, err := get(control.TailRequest{Name: "nope"}); !isAPI(err, control.CodeNoSuchProcess) {
		t.Errorf("tail nope: %v", err)
	}
	if _, err := get(control.TailRequest{Name: "quiet"}); !isAPI(err, control.CodeNoLogFile) {
		t.Errorf("tail of a service without a log: %v", err)
	}

	// Follow: appended lines arrive, and so do lines after a rotation
	// (current renamed to an archive, a new current created).
	fctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- f.client.Tail(fctx, control.TailRequest{Name: "web", Lines: 1, Follow: true}, pw)
		pw.Close()
	}()
	lines := make(chan string, 100)
	go func() {
		b := make([]byte, 0, 4096)
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			b = append(b, buf[:n]...)
			for {
				i := bytes.IndexByte(b, '\n')
				if i < 0 {
					break
				}
				lines <- string(b[:i])
				b = b[i+1:]
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-lines:
			if got != want {
				t.Fatalf("followed line = %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no followed line, want %q", want)
		}
	}
	expect("line 500")
	writeLog(t, cur, "appended 1\n")
	expect("appended 1")
	writeLog(t, cur, "before rotation\n")
	if err := os.Rename(cur, filepath.Join(f.logDir, "web", "@400000006741234500000000.s")); err != nil {
		t.Fatal(err)
	}
	writeLog(t, cur, "after rotation\n")
	expect("before rotation")
	expect("after rotation")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("followed tail ended with %v", err)
	}
}

func TestMetricsExposition(t *testing.T) {
	f := startServer(t, "", svc("web", control.Running), svc("db", control.Stopped))
	f.fake.svcs["web"].Restarts = 3
	f.fake.svcs["db"].LastExit = &plugins.ExitStatus{Signal: syscall.SIGKILL}
	f.fake.svcs["db"].Started = time.Unix(1700000000, 500e6)
	f.fake.metrics = []plugins.Metric{
		{Name: "corral_reaped_processes_total", Type: "counter", Help: "Processes reaped.", Value: 17},
		{Name: "corral_plugin_lines_total", Type: "counter", Help: "Lines with \\ and\nnewline.",
			Labels: map[string]string{"service": "fwd", "target": "a \"quoted\"\nvalue\\x"}, Value: 5},
		{Name: "corral_config_applies_total", Type: "counter", Help: "Applies.", Value: 2},
		{Name: "corral_plugin_lines_total", Type: "counter", Labels: map[string]string{"service": "fwd2"}, Value: 6},
		{Name: "bad name", Value: 1},
	}
	text, err := f.client.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, text)
	}
	val := func(name string, labels map[string]string) (float64, bool) {
		fam, ok := fams[name]
		if !ok {
			return 0, false
		}
	next:
		for _, m := range fam.Metric {
			got := map[string]string{}
			for _, lp := range m.Label {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Untyped != nil:
				return m.Untyped.GetValue(), true
			}
		}
		return 0, false
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"corral_service_up", map[string]string{"service": "web"}, 1},
		{"corral_service_up", map[string]string{"service": "db"}, 0},
		{"corral_service_ready", map[string]string{"service": "db"}, 0},
		{"corral_service_restarts_total", map[string]string{"service": "web"}, 3},
		{"corral_service_last_exit_code", map[string]string{"service": "db"}, 137},
		{"corral_service_start_time_seconds", map[string]string{"service": "db"}, 1700000000.5},
		{"corral_reaped_processes_total", nil, 17},
		{"corral_config_applies_total", nil, 2},
		{"corral_plugin_lines_total", map[string]string{"target": "a \"quoted\"\nvalue\\x"}, 5},
		{"corral_plugin_lines_total", map[string]string{"service": "fwd2"}, 6},
	} {
		got, ok := val(tc.name, tc.labels)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (found %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := val("corral_service_last_exit_code", map[string]string{"service": "web"}); ok {
		t.Error("last exit code of a service that never exited is exported")
	}
	if rss, ok := val("corral_process_resident_memory_bytes", nil); !ok || rss < 1<<20 {
		t.Errorf("resident memory = %v (found %v)", rss, ok)
	}
	if fams["corral_plugin_lines_total"].GetHelp() != "Lines with \\ and\nnewline." {
		t.Errorf("help = %q", fams["corral_plugin_lines_total"].GetHelp())
	}
	if n := strings.Count(string(text), "# TYPE corral_plugin_lines_total "); n != 1 {
		t.Errorf("TYPE line for corral_plugin_lines_total appears %d times", n)
	}
	if strings.Contains(string(text), "bad name") {
		t.Error("an invalid metric name was rendered")
	}
}

func TestServeMetricsOnTCP(t *testing.T) {
	fake := newFake(t.TempDir(), svc("web", control.Running))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeMetricsListener(ctx, ln, fake) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeMetricsListener: %v", err)
		}
	}()
	base := "http://" + ln.Addr().String()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `corral_service_up{service="web"} 1`) ||
		resp.Header.Get("Content-Type") != ContentType {
		t.Errorf("GET /metrics: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// Nothing but /metrics on the TCP address.
	resp, err = http.Get(base + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/status on the metrics address = %d, want 404", resp.StatusCode)
	}
}

// TestServeRefusesNonUnixListeners: the API is never served without a
// peer check.
func TestServeRefusesNonUnixListeners(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, ln, newFake(t.TempDir(), svc("web", control.Running)), Options{})
	resp, err := http.Get("http://" + ln.Addr().String() + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status over TCP = %d, want 403", resp.StatusCode)
	}
}

// nobodyClient runs this test binary as uid/gid 65534 against sock and
// returns what it printed.
func nobodyClient(t *testing.T, sock string) string {
	t.Helper()
	testutil.Require(t, testutil.Root) // it runs a client as nobody
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(publicDir(t), "control.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"CONTROL_TEST_CLIENT=" + sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client as nobody: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// publicDir is a temp dir that every user can traverse.
func publicDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for p := d; p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestPeerRefused(t *testing.T) {
	f := startServer(t, "", svc("web", control.Running))
	for p := filepath.Dir(f.sock); p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The file mode stops nobody first.
	if got := nobodyClient(t, f.sock); !strings.HasPrefix(got, "permission denied|unix://"+f.sock+" refused connection") {
		t.Errorf("nobody on a 0600 socket: %q", got)
	}
	// With the mode opened up, the peer check still refuses.
	if err := os.Chmod(f.sock, 0o666); err != nil {
		t.Fatal(err)
	}
	got := nobodyClient(t, f.sock)
	if !strings.HasPrefix(got, "permission denied|") || !strings.Contains(got, "uid 65534 is not root") {
		t.Errorf("nobody on a 0666 socket: %q", got)
	}
	// Root is served.
	if _, err := f.client.Status(context.Background()); err != nil {
		t.Errorf("root refused: %v", err)
	}
}

func TestPeerInGroupAllowed(t *testing.T) {
	f := startServer(t, "65534", svc("web", control.Running))
	for p := filepath.Dir(f.sock); p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := nobodyClient(t, f.sock); got != "ok" {
		t.Errorf("member of the socket's group: %q, want ok", got)
	}
}
