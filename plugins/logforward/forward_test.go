package logforward

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/supervisor/logfile"
	"github.com/corralhq/corral/supervisor/output"
)

// lineText is the 200-byte line number n of a service's stream.
func lineText(b []byte, svc string, st output.Stream, n int) []byte {
	b = fmt.Appendf(b[:0], "%s %s n=%d ", svc, st, n)
	for len(b) < 200 {
		b = append(b, 'x')
	}
	return b
}

// writeLines writes lines from..to of a stream through a logfile sink.
func writeLines(s *logfile.Sink, svc string, st output.Stream, from, to int) {
	l := output.Line{Service: svc, Stream: st}
	for n := from; n <= to; n++ {
		l.Text = lineText(l.Text, svc, st, n)
		l.Time = time.Now()
		s.WriteLine(&l)
	}
}

// openSink opens a service's log files for a test.
func openSink(t *testing.T, dir, svc string, o logfile.Options) *logfile.Sink {
	t.Helper()
	o.Dir = dir
	s, err := logfile.Open(o, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// key names a service's stream as "svc/stream".
func key(svc string, st output.Stream) string { return svc + "/" + st.String() }

// received sums up messages per stream.
type received struct {
	seqs  map[string]map[int]int // count per seq
	dupes int
	// inOrder is false when a stream's seqs came out of order (first time).
	inOrder bool
}

func tally(t *testing.T, msgs []msg) received {
	t.Helper()
	r := received{seqs: map[string]map[int]int{}, inOrder: true}
	last := map[string]int{}
	for _, m := range msgs {
		if m.app == "probe" {
			continue
		}
		k := m.app + "/" + m.stream
		if r.seqs[k] == nil {
			r.seqs[k] = map[int]int{}
		}
		if r.seqs[k][m.seq]++; r.seqs[k][m.seq] > 1 {
			r.dupes++
		} else if m.seq < last[k] {
			r.inOrder = false
		}
		last[k] = max(last[k], m.seq)
		if want := fmt.Sprintf("%s %s n=%d ", m.app, m.stream, m.seq); !strings.HasPrefix(m.text, want) {
			t.Fatalf("message seq %d of %s has text %q, want prefix %q", m.seq, k, m.text, want)
		}
	}
	return r
}

// missing lists, per stream, how many of seqs 1..want[k] have not arrived.
func (r received) missing(want map[string]int) map[string]int {
	miss := map[string]int{}
	for k, n := range want {
		for s := 1; s <= n; s++ {
			if r.seqs[k][s] == 0 {
				miss[k]++
			}
		}
	}
	for k, m := range r.seqs {
		if _, ok := want[k]; !ok {
			miss["unexpected "+k] = len(m)
		}
	}
	return miss
}

// waitAll waits until every seq of want arrived, failing after timeout.
func waitAll(t *testing.T, c *collector, want map[string]int, timeout time.Duration) received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := tally(t, c.messages())
		miss := r.missing(want)
		if len(miss) == 0 {
			return r
		}
		if time.Now().After(deadline) {
			var first []string
			for k, n := range want {
				for s := 1; s <= n && len(first) < 20; s++ {
					if r.seqs[k][s] == 0 {
						first = append(first, fmt.Sprintf("%s:%d", k, s))
					}
				}
			}
			t.Fatalf("after %v, missing %v (dupes %d); first missing %v", timeout, miss, r.dupes, first)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestForwardServicesTCP(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	logDir := t.TempDir()
	want := map[string]int{}
	for i, svc := range []string{"web", "db", "worker"} {
		s := openSink(t, logDir, svc, logfile.Options{Timestamps: svc == "web", MaxSize: 256 << 10})
		n := 1000 * (i + 1)
		writeLines(s, svc, output.Stdout, 1, n)
		writeLines(s, svc, output.Stderr, 1, 300)
		s.Flush()
		want[key(svc, output.Stdout)] = n
		want[key(svc, output.Stderr)] = 300
	}
	h := newTestHost(logDir)
	f := startForwarder(t, h, Config{Address: fmt.Sprintf("127.0.0.1:%d", c.tcp), Facility: "local3"})
	r := waitAll(t, c, want, 30*time.Second)
	if r.dupes != 0 || !r.inOrder {
		t.Errorf("dupes %d, in order %v: want none and in order on a steady connection", r.dupes, r.inOrder)
	}
	msgs := c.messages()
	for _, m := range msgs {
		if m.app == "probe" {
			continue
		}
		if m.host != "node-1.test" {
			t.Fatalf("HOSTNAME %q", m.host)
		}
		wantPri := 19*8 + 6
		if m.stream == "stderr" {
			wantPri = 19*8 + 3
		}
		if m.pri != fmt.Sprint(wantPri) {
			t.Fatalf("PRI %s for %s, want %d", m.pri, m.stream, wantPri)
		}
	}
	// The web lines carried a timestamp prefix: it became TIMESTAMP and
	// left the MSG.
	b, err := logfile.Tail(logfile.CurrentPath(logDir, "web", output.Stdout), 1)
	if err != nil {
		t.Fatal(err)
	}
	ts, _, ok := logfile.SplitTimestamp(b)
	if !ok {
		t.Fatalf("no timestamp in %q", b)
	}
	var found bool
	for _, m := range msgs {
		if m.app == "web" && m.stream == "stdout" && m.seq == 1000 {
			got, err := time.Parse(time.RFC3339Nano, m.time)
			if err != nil || !got.Equal(ts.Truncate(time.Microsecond)) {
				t.Fatalf("TIMESTAMP %q (%v), want %v", m.time, err, ts.Truncate(time.Microsecond))
			}
			found = true
		}
	}
	if !found {
		t.Fatal("web stdout seq 1000 not found")
	}
	// Status and metrics.
	deadline := time.Now().Add(5 * time.Second)
	for f.stats.lagBytes.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	st := f.Status()
	if !st.Ready || !strings.HasPrefix(st.Description, "connected to tcp") || st.Detail["lag_bytes"] != int64(0) {
		t.Fatalf("status %+v", st)
	}
	var sent float64
	for _, m := range f.Metrics() {
		if m.Name == "corral_logforward_lines_sent_total" {
			sent = m.Value
		}
	}
	if sent != float64(6000+900) {
		t.Fatalf("lines_sent_total = %v, want 6900", sent)
	}
}

func TestForwardTLSWithClientCert(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	logDir := t.TempDir()
	s := openSink(t, logDir, "api", logfile.Options{})
	writeLines(s, "api", output.Stdout, 1, 2000)
	writeLines(s, "api", output.Stderr, 1, 100)
	s.Flush()
	h := newTestHost(logDir)
	startForwarder(t, h, Config{Address: fmt.Sprintf("127.0.0.1:%d", c.tlsPort), Protocol: "tls",
		CAFile: c.caFile, CertFile: c.certFile, KeyFile: c.keyFile})
	r := waitAll(t, c, map[string]int{"api/stdout": 2000, "api/stderr": 100}, 30*time.Second)
	if r.dupes != 0 {
		t.Errorf("%d dupes", r.dupes)
	}
}

func TestForwardTLSRejectsUnknownCA(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	other := startCollector(t) // a different CA
	logDir := t.TempDir()
	s := openSink(t, logDir, "api", logfile.Options{})
	writeLines(s, "api", output.Stdout, 1, 10)
	s.Flush()
	h := newTestHost(logDir)
	f := startForwarder(t, h, Config{Address: fmt.Sprintf("127.0.0.1:%d", c.tlsPort), Protocol: "tls",
		CAFile: other.caFile, CertFile: c.certFile, KeyFile: c.keyFile, BackoffMax: 200 * time.Millisecond})
	deadline := time.Now().Add(10 * time.Second)
	for f.stats.errors.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if st := f.Status(); st.Ready || !strings.Contains(st.Description, "certificate") {
		t.Fatalf("status %q, want not connected with a certificate error", st.Description)
	}
	for _, m := range c.messages() {
		if m.app != "probe" {
			t.Fatalf("a message reached an unverified collector: %+v", m)
		}
	}
}

func TestForwardUDP(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	logDir := t.TempDir()
	s := openSink(t, logDir, "dns", logfile.Options{})
	h := newTestHost(logDir)
	f := startForwarder(t, h, Config{Address: fmt.Sprintf("127.0.0.1:%d", c.udp), Protocol: "udp", PollInterval: 10 * time.Millisecond})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("forwarder: %+v", f.Status())
		}
	})
	// UDP has no flow control: write at a pace the collector keeps up with.
	for i := 0; i < 25; i++ {
		writeLines(s, "dns", output.Stdout, i*20+1, i*20+20)
		s.Flush()
		time.Sleep(20 * time.Millisecond)
	}
	waitAll(t, c, map[string]int{"dns/stdout": 500}, 20*time.Second)
}

// TestRotationDuringForwarding rotates current every ~40 lines while the
// forwarder reads: every line must arrive once, in order.
func TestRotationDuringForwarding(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	logDir := t.TempDir()
	s := openSink(t, logDir, "rot", logfile.Options{MaxSize: 8 << 10, Keep: 100000})
	h := newTestHost(logDir)
	startForwarder(t, h, Config{Address: fmt.Sprintf("127.0.0.1:%d", c.tcp), PollInterval: 5 * time.Millisecond})
	const n = 20000
	for i := 0; i < n; i += 200 {
		writeLines(s, "rot", output.Stdout, i+1, i+200)
		writeLines(s, "rot", output.Stderr, i/10+1, i/10+20)
		s.Flush()
	}
	s.Flush()
	if st := s.Stats(); st.Rotations < 400 || st.DroppedLines != 0 {
		t.Fatalf("sink stats %+v: want >= 400 rotations and no drops", st)
	}
	r := waitAll(t, c, map[string]int{"rot/stdout": n, "rot/stderr": n / 10}, 60*time.Second)
	if r.dupes != 0 || !r.inOrder {
		t.Errorf("dupes %d, in order %v", r.dupes, r.inOrder)
	}
}

// TestCollectorOutage stops the collector for 30 s while services keep
// writing (and rotating), then starts it again: every line arrives.
func TestCollectorOutage(t *testing.T) {
	t.Parallel()
	c := startCollector(t)
	logDir := t.TempDir()
	sinks := map[string]*logfile.Sink{}
	for _, svc := range []string{"a", "b"} {
		sinks[svc] = openSink(t, logDir, svc, logfile.Options{MaxSize: 64 << 10, Keep: 100000})
	}
	h := newTestHost(logDir)
	f := startForwarder(t, h, Config{Address: fmt.Sprintf("127.0.0.1:%d", c.tcp), BackoffMax: 2 * time.Second})
	stop := make(chan struct{})
	wrote := make(chan map[string]int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				for _, s := range sinks {
					s.Flush()
				}
				wrote <- map[string]int{"a/stdout": n, "b/stdout": n, "a/stderr": n / 10, "b/stderr": n / 10}
				return
			case <-time.After(5 * time.Millisecond):
			}
			for svc, s := range sinks {
				writeLines(s, svc, output.Stdout, n+1, n+10)
				writeLines(s, svc, output.Stderr, n/10+1, n/10+1)
			}
			n += 10
		}
	}()
	waitCount := func(min int) {
		deadline := time.Now().Add(20 * time.Second)
		for len(c.messages()) < min {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d messages arrived", min)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitCount(2000)
	c.stop()
	before := len(c.messages())
	time.Sleep(2 * time.Second)
	if st := f.Status(); st.Ready {
		t.Errorf("status %q while the collector is down", st.Description)
	}
	time.Sleep(28 * time.Second)
	c.start()
	time.Sleep(time.Second)
	close(stop)
	want := <-wrote
	r := waitAll(t, c, want, 60*time.Second)
	if f.stats.reconnects.Load() == 0 {
		t.Error("no reconnect counted")
	}
	t.Logf("outage: %d messages before the stop, %d lines per stdout, %d dupes resent", before, want["a/stdout"], r.dupes)
}

func TestFormat(t *testing.T) {
	f := newFormatter("host 1", 16, false)
	line := []byte(`2026-11-24T21:03:04.123456789Z say "hi"] \ok`)
	got := f.append(nil, []byte("web"), output.Stderr, 42, line)
	msg := `<131>1 2026-11-24T21:03:04.123456Z host_1 web - - [corral@32473 stream="stderr" seq="42"] say "hi"] \ok`
	if want := fmt.Sprintf("%d %s", len(msg), msg); string(got) != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	got = f.append(nil, []byte("web"), output.Stdout, 1, []byte("plain"))
	if !bytes.Contains(got, []byte(`<134>1 - host_1 web - - [corral@32473 stream="stdout" seq="1"] plain`)) {
		t.Fatalf("got %q", got)
	}
	if e := appendSDValue(nil, `a"b\c]d`); string(e) != `a\"b\\c\]d` {
		t.Fatalf("escaped %q", e)
	}
	if s := sanitize("a b\x00ü", 48); string(s) != "a_b___" {
		t.Fatalf("sanitize = %q", s)
	}
}

func BenchmarkFormat(b *testing.B) {
	f := newFormatter("node-1.example.com", 1, false)
	line := append([]byte("2026-11-24T21:03:04.123456789Z "), bytes.Repeat([]byte("x"), 200)...)
	out := make([]byte, 0, 64<<10)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		out = f.append(out[:0], []byte("web"), output.Stdout, uint64(i), line)
	}
}
