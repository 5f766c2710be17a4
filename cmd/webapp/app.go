package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// App is the demo web app: it tells who answered and counts requests.
type App struct {
	// Node is the name shown in answers (NODE_NAME, else the host name).
	Node string
	// Addrs are the node's addresses shown in answers.
	Addrs []string

	log      *slog.Logger
	requests atomic.Uint64
	draining atomic.Bool
	last     atomic.Int64 // when the last request other than /health came, Unix ns
}

// NewApp returns an App answering as node with addrs, logging one line per
// request to log.
func NewApp(node string, addrs []string, log *slog.Logger) *App {
	return &App{Node: node, Addrs: addrs, log: log}
}

// Drain makes /health answer 503 from now on, so a load balancer stops
// sending new requests while the ones in flight finish.
func (a *App) Drain() { a.draining.Store(true) }

// Draining reports whether Drain was called.
func (a *App) Draining() bool { return a.draining.Load() }

// WaitQuiet returns once no request other than /health has come for
// quiet (wasQuiet true), or once limit has passed; quiet 0 waits limit. It
// returns how long it waited. A balancer that has let the node go sends no
// more requests, so the drain ends at once instead of waiting out a fixed
// delay; while requests still come, it waits for them to stop.
func (a *App) WaitQuiet(limit, quiet time.Duration) (waited time.Duration, wasQuiet bool) {
	start := time.Now()
	deadline := start.Add(limit)
	for {
		now := time.Now()
		if quiet > 0 {
			idle := now.Sub(time.Unix(0, a.last.Load()))
			if idle >= quiet {
				return now.Sub(start), true
			}
			if left := deadline.Sub(now); left > 0 {
				time.Sleep(min(left, quiet-idle))
				continue
			}
		}
		if left := deadline.Sub(now); left > 0 {
			time.Sleep(left)
			continue
		}
		return now.Sub(start), false
	}
}

// Requests returns how many requests to / were answered.
func (a *App) Requests() uint64 { return a.requests.Load() }

// Handler returns the app's routes, each request logged:
//
//	GET /        "node=<name> addr=<a,b> requests=<n>\n"
//	GET /health  200 "ok\n", or 503 "draining\n" after Drain
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.serveRoot)
	mux.HandleFunc("GET /health", a.serveHealth)
	return a.logged(mux)
}

func (a *App) serveRoot(w http.ResponseWriter, r *http.Request) {
	n := a.requests.Add(1)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Node", a.Node)
	fmt.Fprintf(w, "node=%s addr=%s requests=%d\n", a.Node, strings.Join(a.Addrs, ","), n)
}

func (a *App) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if a.Draining() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "draining")
		return
	}
	fmt.Fprintln(w, "ok")
}

// statusWriter remembers the status code and body size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// logged wraps next so that every request produces one log line.
func (a *App) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if r.URL.Path != "/health" {
			a.last.Store(start.UnixNano())
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		a.log.Info("request",
			"method", r.Method,
			"path", r.URL.Path,
			"status", sw.status,
			"bytes", sw.bytes,
			"remote", r.RemoteAddr,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}

// localAddrs returns the machine's non-loopback IP addresses, or the
// loopback ones when there is nothing else.
func localAddrs() []string {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var global, loop []string
	for _, ia := range ifAddrs {
		ipn, ok := ia.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipn.IP
		switch {
		case ip.IsLoopback():
			loop = append(loop, ip.String())
		case ip.IsLinkLocalUnicast():
		default:
			global = append(global, ip.String())
		}
	}
	if len(global) > 0 {
		return global
	}
	return loop
}

// listenAddr turns $PORT into a listen address (":8080" when empty).
func listenAddr(port string) (string, error) {
	if port == "" {
		return ":8080", nil
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("parsing PORT %q: not a port number", port)
	}
	return ":" + strconv.Itoa(p), nil
}
