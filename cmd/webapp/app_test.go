package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	var logBuf bytes.Buffer
	app := NewApp("web1", []string{"10.1.2.3", "fd00::3"}, slog.New(slog.NewTextHandler(&logBuf, nil)))
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()

	get := func(method, path string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b), resp.Header
	}

	steps := []struct {
		name, method, path string
		drain              bool
		wantCode           int
		wantBody           string
	}{
		{"first request", "GET", "/", false, 200, "node=web1 addr=10.1.2.3,fd00::3 requests=1\n"},
		{"counter grows", "GET", "/", false, 200, "node=web1 addr=10.1.2.3,fd00::3 requests=2\n"},
		{"health ok", "GET", "/health", false, 200, "ok\n"},
		{"unknown path", "GET", "/nope", false, 404, ""},
		{"wrong method", "POST", "/", false, 405, ""},
		{"health draining", "GET", "/health", true, 503, "draining\n"},
		{"still serving while draining", "GET", "/", false, 200, "node=web1 addr=10.1.2.3,fd00::3 requests=3\n"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.drain {
				app.Drain()
			}
			code, body, hdr := get(s.method, s.path)
			if code != s.wantCode {
				t.Errorf("%s %s: status %d, want %d (body %q)", s.method, s.path, code, s.wantCode, body)
			}
			if s.wantBody != "" && body != s.wantBody {
				t.Errorf("%s %s: body %q, want %q", s.method, s.path, body, s.wantBody)
			}
			if s.path == "/" && code == 200 && hdr.Get("X-Node") != "web1" {
				t.Errorf("X-Node = %q, want web1", hdr.Get("X-Node"))
			}
		})
	}
	if got := app.Requests(); got != 3 {
		t.Errorf("Requests() = %d, want 3", got)
	}

	lines := strings.Split(strings.TrimSpace(logBuf.String()), "\n")
	if len(lines) != len(steps) {
		t.Fatalf("got %d log lines, want one per request (%d):\n%s", len(lines), len(steps), logBuf.String())
	}
	for i, want := range []string{
		"method=GET path=/ status=200",
		"method=GET path=/ status=200",
		"method=GET path=/health status=200",
		"method=GET path=/nope status=404",
		"method=POST path=/ status=405",
		"method=GET path=/health status=503",
		"method=GET path=/ status=200",
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("log line %d = %q, want it to contain %q", i, lines[i], want)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr string
	}{
		{"defaults", map[string]string{"NODE_NAME": "n"}, config{addr: ":8080", node: "n", shutdownTimeout: 5 * time.Second}, ""},
		{"all set", map[string]string{"NODE_NAME": "n", "PORT": "9000", "DRAIN_DELAY": "250ms", "DRAIN_QUIET": "50ms", "SHUTDOWN_TIMEOUT": "2s"},
			config{addr: ":9000", node: "n", drainDelay: 250 * time.Millisecond, drainQuiet: 50 * time.Millisecond, shutdownTimeout: 2 * time.Second}, ""},
		{"bad quiet", map[string]string{"NODE_NAME": "n", "DRAIN_QUIET": "-5ms"}, config{}, `parsing DRAIN_QUIET "-5ms": not a non-negative Go duration`},
		{"bad port", map[string]string{"PORT": "http"}, config{}, `parsing PORT "http": not a port number`},
		{"port out of range", map[string]string{"PORT": "70000"}, config{}, `parsing PORT "70000": not a port number`},
		{"bad drain", map[string]string{"NODE_NAME": "n", "DRAIN_DELAY": "soon"}, config{}, `parsing DRAIN_DELAY "soon": not a non-negative Go duration`},
		{"negative timeout", map[string]string{"NODE_NAME": "n", "SHUTDOWN_TIMEOUT": "-1s"}, config{}, `parsing SHUTDOWN_TIMEOUT "-1s": not a non-negative Go duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadConfigHostname(t *testing.T) {
	got, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got.node == "" {
		t.Error("node is empty without NODE_NAME; want the host name")
	}
}

func TestLocalAddrs(t *testing.T) {
	addrs := localAddrs()
	if len(addrs) == 0 {
		t.Fatal("localAddrs() returned nothing; want at least a loopback address")
	}
	for _, a := range addrs {
		if strings.HasPrefix(a, "fe80:") {
			t.Errorf("link-local address %s listed", a)
		}
	}
}

// TestWaitQuiet: the drain ends at once when no request came, waits while
// requests keep coming (never counting /health), and ends at the limit
// when quiet is 0 or the requests never stop.
func TestWaitQuiet(t *testing.T) {
	app := NewApp("n", nil, slog.New(slog.DiscardHandler))
	h := app.Handler()
	hit := func(path string) { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil)) }

	if _, quiet := app.WaitQuiet(time.Minute, 50*time.Millisecond); !quiet {
		t.Error("no request at all: the drain did not end by quiet")
	}

	// Requests every 10ms for 400ms: the drain lasts until they stop.
	go func() {
		for end := time.Now().Add(400 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			hit("/")
		}
	}()
	time.Sleep(20 * time.Millisecond)
	waited, quiet := app.WaitQuiet(time.Minute, 200*time.Millisecond)
	if !quiet || waited < 300*time.Millisecond {
		t.Errorf("with requests for 400ms the drain ended after %s (quiet %v), want by quiet once they stopped", waited, quiet)
	}

	// Health checks are not requests to drain.
	hit("/")
	last := app.last.Load()
	time.Sleep(time.Millisecond)
	hit("/health")
	if app.last.Load() != last {
		t.Error("a health check counted as a request")
	}

	// Quiet 0, or requests until the limit: the whole limit.
	if waited, quiet := app.WaitQuiet(150*time.Millisecond, 0); quiet || waited < 150*time.Millisecond {
		t.Errorf("quiet 0: waited %s (quiet %v), want the limit", waited, quiet)
	}
	hit("/")
	if _, quiet := app.WaitQuiet(0, time.Hour); quiet {
		t.Error("limit 0 right after a request: ended by quiet")
	}
}
