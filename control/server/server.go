package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/supervisor/logfile"
	"github.com/corralhq/corral/supervisor/output"
)

// Options configure Serve.
type Options struct {
	// Logger receives the server's own messages; nil discards them.
	Logger *slog.Logger
	// Version is what GET /v1/version reports.
	Version string
	// PID is what GET /v1/pid reports; 0 means os.Getpid().
	PID int
	// MaxConns bounds the connections served at once (0: DefaultMaxConns).
	// At the bound, the connection waiting longest for a request is closed
	// to make room; when none waits, a new connection is refused.
	MaxConns int
	// IdleTimeout closes a connection that waits this long for a request
	// (0: DefaultIdleTimeout).
	IdleTimeout time.Duration
	// FDReserve is how many file descriptors are kept free for the engine
	// (0: an eighth of RLIMIT_NOFILE, at least DefaultMinFDReserve): a
	// connection that would leave fewer free is refused.
	FDReserve int
}

// writeTimeout bounds each write of an answer, so that a client that stops
// reading does not hold its connection forever; tail -f renews it at each
// write.
const writeTimeout = 30 * time.Second

// discard is a logger that drops everything.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// server holds what the handlers share.
type server struct {
	c    Controller
	opts Options
	log  *slog.Logger
}

type ctxKey struct{}

// Serve answers the control API on ln until ctx is done. ln should come from
// Listen; a plain *net.UnixListener is served to root only, and any other
// listener's connections are all refused (the API has no other access
// control).
func Serve(ctx context.Context, ln net.Listener, c Controller, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = discard()
	}
	if opts.PID == 0 {
		opts.PID = os.Getpid()
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ln = rootOnly{ul}
	}
	lim := newLimiter(ln, opts.MaxConns, opts.FDReserve, opts.Logger)
	s := &server{c: c, opts: opts, log: opts.Logger}
	srv := &http.Server{
		Handler: s.routes(),
		// A new connection has IdleTimeout to send its request's header.
		ReadHeaderTimeout: opts.IdleTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ConnState:         lim.track,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnContext: func(ctx context.Context, conn net.Conn) context.Context {
			if pc, ok := conn.(*peerConn); ok {
				return context.WithValue(ctx, ctxKey{}, pc)
			}
			return ctx
		},
		ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
	}
	return serveUntil(ctx, srv, lim)
}

// routes is the API's mux behind the peer check.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", s.status)
	mux.HandleFunc("POST /v1/start", s.start)
	mux.HandleFunc("POST /v1/stop", s.stop)
	mux.HandleFunc("POST /v1/restart", s.restart)
	mux.HandleFunc("POST /v1/signal", s.signal)
	mux.HandleFunc("GET /v1/pid", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, control.PIDResponse{PID: s.opts.PID})
	})
	mux.HandleFunc("GET /v1/tail", s.tail)
	mux.HandleFunc("POST /v1/reread", s.reread)
	mux.HandleFunc("POST /v1/update", s.update)
	mux.HandleFunc("POST /v1/shutdown", func(w http.ResponseWriter, r *http.Request) {
		s.log.Info("shutdown requested through the control socket")
		s.c.Shutdown()
		writeJSON(w, http.StatusOK, struct{}{})
	})
	mux.HandleFunc("GET /v1/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, control.VersionResponse{Version: s.opts.Version})
	})
	mux.Handle("GET /metrics", metricsHandler(s.c, s.log))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
		pc, _ := r.Context().Value(ctxKey{}).(*peerConn)
		switch {
		case pc == nil:
			writeError(w, http.StatusForbidden, control.CodeForbidden, "the control API is served on unix sockets only")
			return
		case pc.refusal != "":
			s.log.Warn("control connection refused", "uid", pc.peer.UID, "pid", pc.peer.PID, "reason", pc.refusal)
			writeError(w, http.StatusForbidden, control.CodeForbidden, "permission denied: "+pc.refusal)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes an ErrorResponse.
func writeError(w http.ResponseWriter, status int, code control.Code, msg string) {
	writeJSON(w, status, control.ErrorResponse{Code: code, Error: msg})
}

// httpStatus is the HTTP status for an error code.
func httpStatus(c control.Code) int {
	switch c {
	case control.CodeNoSuchProcess, control.CodeNoSuchGroup, control.CodeNoLogFile:
		return http.StatusNotFound
	case control.CodeBadRequest, control.CodeBadSignal:
		return http.StatusBadRequest
	case control.CodeForbidden:
		return http.StatusForbidden
	case control.CodeShuttingDown, control.CodeAlreadyStarted, control.CodeNotRunning:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// fail writes err as an ErrorResponse.
func fail(w http.ResponseWriter, err error) {
	c := codeOf(err)
	writeError(w, httpStatus(c), c, err.Error())
}

// status serves GET /v1/status.
func (s *server) status(w http.ResponseWriter, r *http.Request) {
	sts, err := s.c.Status(r.URL.Query()["name"]...)
	if err != nil {
		fail(w, err)
		return
	}
	if sts == nil {
		sts = []control.ServiceStatus{}
	}
	writeJSON(w, http.StatusOK, control.StatusResponse{Now: time.Now(), Services: sts})
}

// decode reads a JSON body into v, answering 400 on failure.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, control.CodeBadRequest, "decoding request: "+err.Error())
		return false
	}
	return true
}

// start serves POST /v1/start.
func (s *server) start(w http.ResponseWriter, r *http.Request) {
	var req control.NamesRequest
	if !decode(w, r, &req) {
		return
	}
	s.each(w, r, req.Names, func(st control.State) bool { return !runningState(st) },
		func(ctx context.Context, st control.ServiceStatus) control.Result {
			if runningState(st.State) {
				return control.Result{Name: st.Name, Code: control.CodeAlreadyStarted, Error: control.ErrAlreadyStarted.Error()}
			}
			if req.NoWait {
				return result(st.Name, s.c.Request(ctx, st.Name, true))
			}
			return result(st.Name, s.c.Start(ctx, st.Name))
		})
}

// stop serves POST /v1/stop.
func (s *server) stop(w http.ResponseWriter, r *http.Request) {
	var req control.NamesRequest
	if !decode(w, r, &req) {
		return
	}
	s.each(w, r, req.Names, runningState,
		func(ctx context.Context, st control.ServiceStatus) control.Result {
			// The engine decides what stopping means in each state (a
			// oneshot that succeeded runs its stop command).
			if req.NoWait {
				return result(st.Name, s.c.Request(ctx, st.Name, false))
			}
			return result(st.Name, s.c.Stop(ctx, st.Name))
		})
}

// restart serves POST /v1/restart (the engine's Restart: stop if up, then
// start). supervisorctl's restart verb is stop then start, as supervisord's.
func (s *server) restart(w http.ResponseWriter, r *http.Request) {
	var req control.NamesRequest
	if !decode(w, r, &req) {
		return
	}
	s.each(w, r, req.Names, func(control.State) bool { return true },
		func(ctx context.Context, st control.ServiceStatus) control.Result {
			return result(st.Name, s.c.Restart(ctx, st.Name))
		})
}

// signal serves POST /v1/signal.
func (s *server) signal(w http.ResponseWriter, r *http.Request) {
	var req control.SignalRequest
	if !decode(w, r, &req) {
		return
	}
	sig, sigErr := control.ParseSignal(req.Signal)
	s.each(w, r, req.Names, signallable,
		func(ctx context.Context, st control.ServiceStatus) control.Result {
			switch {
			case sigErr != nil:
				return control.Result{Name: st.Name, Code: control.CodeBadSignal, Error: sigErr.Error()}
			case !signallable(st.State):
				return control.Result{Name: st.Name, Code: control.CodeNotRunning, Error: control.ErrNotRunning.Error()}
			}
			return result(st.Name, s.c.Signal(st.Name, sig))
		})
}

// result makes the Result of an engine call.
func result(name string, err error) control.Result {
	if err == nil {
		return control.Result{Name: name, Code: control.CodeOK}
	}
	return control.Result{Name: name, Code: codeOf(err), Error: err.Error()}
}

// runningState is supervisord's RUNNING_STATES: what start skips and stop acts on.
func runningState(s control.State) bool {
	return s == control.Running || s == control.Backoff || s == control.Starting
}

// signallable is supervisord's SIGNALLABLE_STATES.
func signallable(s control.State) bool {
	return s == control.Running || s == control.Starting || s == control.Stopping
}

// each runs op on the services names select, in the engine's order, the way
// supervisord does: "all" and "name:*" act on the services whose state passes
// filter; a single name is acted on whatever its state (op decides); a name
// or group that matches nothing gives a no_such_process or no_such_group
// Result.
func (s *server) each(w http.ResponseWriter, r *http.Request, names []string,
	filter func(control.State) bool, op func(context.Context, control.ServiceStatus) control.Result) {
	if len(names) == 0 {
		writeError(w, http.StatusBadRequest, control.CodeBadRequest, "no service named")
		return
	}
	all, err := s.c.Status()
	if err != nil {
		fail(w, err)
		return
	}
	byName := make(map[string]control.ServiceStatus, len(all))
	for _, st := range all {
		byName[st.Name] = st
	}
	// current re-reads a service's state just before acting, since earlier
	// operations in the same request may have changed it.
	current := func(name string) (control.ServiceStatus, bool) {
		sts, err := s.c.Status(name)
		if err != nil || len(sts) != 1 {
			return control.ServiceStatus{}, false
		}
		return sts[0], true
	}
	res := []control.Result{}
	ctx := r.Context()
	if containsAll(names) {
		for _, st := range all {
			if cur, ok := current(st.Name); ok && filter(cur.State) {
				res = append(res, op(ctx, cur))
			}
		}
		writeJSON(w, http.StatusOK, control.ResultsResponse{Results: res})
		return
	}
	for _, spec := range names {
		name, group := control.SplitName(spec)
		if _, ok := byName[name]; !ok || name == "" {
			if group {
				res = append(res, control.Result{Name: name, Code: control.CodeNoSuchGroup, Error: "no such group"})
			} else {
				res = append(res, control.Result{Name: spec, Code: control.CodeNoSuchProcess, Error: control.ErrNoSuchService.Error()})
			}
			continue
		}
		cur, ok := current(name)
		if !ok {
			res = append(res, control.Result{Name: spec, Code: control.CodeNoSuchProcess, Error: control.ErrNoSuchService.Error()})
			continue
		}
		if group && !filter(cur.State) {
			continue
		}
		res = append(res, op(ctx, cur))
	}
	writeJSON(w, http.StatusOK, control.ResultsResponse{Results: res})
}

// containsAll reports whether names holds "all".
func containsAll(names []string) bool {
	for _, n := range names {
		if n == "all" {
			return true
		}
	}
	return false
}

// reread serves POST /v1/reread.
func (s *server) reread(w http.ResponseWriter, r *http.Request) {
	d, err := s.c.Reread()
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// update serves POST /v1/update.
func (s *server) update(w http.ResponseWriter, r *http.Request) {
	d, err := s.c.Update(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// tail serves GET /v1/tail.
func (s *server) tail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("name")
	if n, _ := control.SplitName(name); n != "" {
		name = n
	}
	stream := output.Stdout
	switch q.Get("stream") {
	case "", "stdout":
	case "stderr":
		stream = output.Stderr
	default:
		writeError(w, http.StatusBadRequest, control.CodeBadRequest, "bad channel "+strconv.Quote(q.Get("stream")))
		return
	}
	var lines int
	var nbytes int64 = 1600
	var err error
	if v := q.Get("lines"); v != "" {
		if lines, err = strconv.Atoi(v); err != nil || lines < 0 {
			writeError(w, http.StatusBadRequest, control.CodeBadRequest, "bad lines "+strconv.Quote(v))
			return
		}
	}
	if v := q.Get("bytes"); v != "" {
		if nbytes, err = strconv.ParseInt(v, 10, 64); err != nil || nbytes < 0 {
			writeError(w, http.StatusBadRequest, control.CodeBadRequest, "bad bytes "+strconv.Quote(v))
			return
		}
	}
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"
	if _, err := s.c.Status(name); err != nil {
		fail(w, err)
		return
	}
	path, err := s.c.LogFile(name, stream)
	if err != nil {
		fail(w, err)
		return
	}
	if !follow && lines > 0 {
		// Whole lines, from the archives too when current is short.
		b, err := logfile.Tail(path, lines)
		if err != nil {
			s.tailError(w, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(b)
		return
	}
	if !follow {
		// Bytes, from the archives too when current is short (just
		// rotated).
		rd, err := logfile.TailBytes(path, nbytes)
		if err != nil {
			s.tailError(w, err)
			return
		}
		defer rd.Close()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = io.Copy(w, rd)
		return
	}
	f, err := tailStart(path, lines, nbytes)
	if err != nil {
		s.tailError(w, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, f)
	// Carry on from exactly where the copy ended, across rotations.
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	err = logfile.Follow(r.Context(), path, off, func(b []byte) {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(b); err == nil {
			_ = rc.Flush()
		}
	})
	if err != nil {
		s.log.Debug("tail ended", "service", name, "err", err)
	}
}

// tailError answers a failure to open a log: 404 no_log_file when it does
// not exist (yet).
func (s *server) tailError(w http.ResponseWriter, err error) {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, logfile.ErrNoFile) {
		writeError(w, http.StatusNotFound, control.CodeNoLogFile, "no log file")
		return
	}
	fail(w, err)
}

// codeOf maps an engine error to a Code.
func codeOf(err error) control.Code {
	switch {
	case err == nil:
		return control.CodeOK
	case errors.Is(err, control.ErrNoSuchService):
		return control.CodeNoSuchProcess
	case errors.Is(err, control.ErrAlreadyStarted):
		return control.CodeAlreadyStarted
	case errors.Is(err, control.ErrNotRunning):
		return control.CodeNotRunning
	case errors.Is(err, control.ErrSpawn):
		return control.CodeSpawnError
	case errors.Is(err, control.ErrAbnormal):
		return control.CodeAbnormal
	case errors.Is(err, control.ErrShuttingDown):
		return control.CodeShuttingDown
	}
	return control.CodeFailed
}
