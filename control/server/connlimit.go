package server

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults of the connection bounds (see Options).
const (
	// DefaultMaxConns is how many control connections are served at once.
	DefaultMaxConns = 64
	// DefaultIdleTimeout closes a connection that waits this long for a
	// request (a new one, or a kept-alive one between requests).
	DefaultIdleTimeout = 10 * time.Second
	// DefaultMinFDReserve is the least number of file descriptors kept
	// free for the engine; the reserve is the larger of it and an eighth
	// of RLIMIT_NOFILE.
	DefaultMinFDReserve = 64
)

// refusalLogEvery bounds how often refused connections are logged.
const refusalLogEvery = 10 * time.Second

// limiter bounds the connections a listener hands to the HTTP server: at
// most max at once, and none that would leave fewer than the reserve of
// file descriptors free (the engine needs them to start services). At the
// bound, the connection that has waited longest for a request is closed to
// make room; when every connection is busy, the new one is refused: closed
// at once, never queued. The HTTP server reports connection states
// through track.
type limiter struct {
	net.Listener
	max     int
	reserve int // 0: the default, from RLIMIT_NOFILE
	log     *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn]*connState

	refused, evicted atomic.Uint64
	loggedAt         atomic.Int64 // unix nanoseconds of the last refusal logged
}

// connState is what the limiter knows of a connection.
type connState struct {
	waiting bool      // new or idle: waiting for a request
	since   time.Time // when it began waiting
}

func newLimiter(ln net.Listener, max, reserve int, log *slog.Logger) *limiter {
	if max <= 0 {
		max = DefaultMaxConns
	}
	return &limiter{Listener: ln, max: max, reserve: reserve, log: log, conns: map[net.Conn]*connState{}}
}

// Accept returns the next connection it admits, closing those it refuses.
func (l *limiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		why := l.admit(c)
		if why == "" {
			return c, nil
		}
		c.Close()
		l.refused.Add(1)
		now := time.Now().UnixNano()
		if last := l.loggedAt.Load(); now-last >= int64(refusalLogEvery) && l.loggedAt.CompareAndSwap(last, now) {
			l.log.Warn("control connection refused", "reason", why, "refused_total", l.refused.Load(), "evicted_total", l.evicted.Load())
		}
	}
}

// admit registers c, making room if needed, or says why it is refused.
func (l *limiter) admit(c net.Conn) string {
	if free, limit, ok := freeFDs(); ok && free < l.fdReserve(limit) {
		return "too few file descriptors left for the services"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) >= l.max {
		var oldest net.Conn
		var at time.Time
		for oc, st := range l.conns {
			if st.waiting && (oldest == nil || st.since.Before(at)) {
				oldest, at = oc, st.since
			}
		}
		if oldest == nil {
			return "too many connections at once, all busy"
		}
		// Closing it makes the HTTP server drop it (StateClosed).
		delete(l.conns, oldest)
		oldest.Close()
		l.evicted.Add(1)
	}
	l.conns[c] = &connState{waiting: true, since: time.Now()}
	return ""
}

// fdReserve is how many descriptors to keep free under limit.
func (l *limiter) fdReserve(limit int) int {
	if l.reserve > 0 {
		return l.reserve
	}
	return max(DefaultMinFDReserve, limit/8)
}

// track is the HTTP server's ConnState hook.
func (l *limiter) track(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.conns[c]
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	case http.StateActive:
		if ok {
			st.waiting = false
		}
	case http.StateIdle:
		if ok {
			st.waiting, st.since = true, time.Now()
		}
	}
}

// open returns how many connections are being served.
func (l *limiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// freeFDs returns how many more file descriptors the process may open, and
// its limit; ok is false when that cannot be known.
func freeFDs() (free, limit int, ok bool) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 0, 0, false
	}
	d, err := os.Open("/proc/self/fd")
	if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
		return 0, int(rl.Cur), true // none to spare
	}
	if err != nil {
		return 0, 0, false // no /proc
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, 0, false
	}
	return int(rl.Cur) - len(names), int(rl.Cur), true
}
