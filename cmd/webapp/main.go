// Command webapp is the demo web app that corral's webapp image runs behind
// HAProxy. It uses the standard library only.
//
//	GET /        answers "node=<name> addr=<addresses> requests=<count>"
//	GET /health  answers 200, or 503 once SIGTERM was received (draining)
//
// Environment:
//
//	PORT              port to listen on (default 8080)
//	NODE_NAME         name shown in answers (default: the host name)
//	DRAIN_DELAY       after SIGTERM, keep serving at most this long while
//	                  /health answers 503 (Go duration, default 0s)
//	DRAIN_QUIET       end the drain sooner, once no request (other than
//	                  /health) came for this long: the balancer has let the
//	                  node go (Go duration; default 0s: drain DRAIN_DELAY)
//	SHUTDOWN_TIMEOUT  then wait at most this long for requests in flight
//	                  (Go duration, default 5s)
//
// It logs one line per request to stdout and exits 0 after a graceful
// shutdown on SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Getenv, os.Stdout))
}

// config is what the environment says.
type config struct {
	addr            string
	node            string
	drainDelay      time.Duration
	drainQuiet      time.Duration
	shutdownTimeout time.Duration
}

// loadConfig reads the environment through getenv.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{node: getenv("NODE_NAME"), shutdownTimeout: 5 * time.Second}
	var err error
	if c.addr, err = listenAddr(getenv("PORT")); err != nil {
		return c, err
	}
	if c.node == "" {
		if c.node, err = os.Hostname(); err != nil {
			return c, fmt.Errorf("reading host name: %w", err)
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"DRAIN_DELAY", &c.drainDelay}, {"DRAIN_QUIET", &c.drainQuiet}, {"SHUTDOWN_TIMEOUT", &c.shutdownTimeout}} {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		if *d.dst, err = time.ParseDuration(v); err != nil || *d.dst < 0 {
			return c, fmt.Errorf("parsing %s %q: not a non-negative Go duration", d.name, v)
		}
	}
	return c, nil
}

// run serves until ctx is done, then drains and shuts down. It returns the
// process exit code.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) int {
	log := slog.New(slog.NewTextHandler(stdout, nil))
	cfg, err := loadConfig(getenv)
	if err != nil {
		log.Error("webapp: " + err.Error())
		return 2
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		log.Error("webapp: listening", "addr", cfg.addr, "err", err)
		return 1
	}
	app := NewApp(cfg.node, localAddrs(), log)
	if err := serve(ctx, ln, app, cfg, log); err != nil {
		log.Error("webapp: " + err.Error())
		return 1
	}
	return 0
}

// serve answers on ln until ctx is done; then it makes /health fail, keeps
// serving for the drain (until quiet, at most the drain delay), and shuts
// the server down gracefully.
func serve(ctx context.Context, ln net.Listener, app *App, cfg config, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "node", app.Node, "addrs", app.Addrs)

	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	app.Drain()
	log.Info("draining", "max", cfg.drainDelay, "quiet", cfg.drainQuiet)
	waited, quiet := app.WaitQuiet(cfg.drainDelay, cfg.drainQuiet)
	log.Info("drained", "after", waited.Round(time.Millisecond), "quiet", quiet)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	log.Info("stopped", "requests", app.Requests())
	return nil
}
