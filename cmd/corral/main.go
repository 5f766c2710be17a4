// Command corral is a PID-1 process supervisor for containers. Images run it
// as ENTRYPOINT ["/init"]; it starts the services of /etc/services.d, reaps
// every zombie, forwards signals to the main command (the image's CMD), stops
// everything in order and exits with the main command's code.
//
//	corral [flags] [--] [command [args...]]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/control/server"
	"github.com/corralhq/corral/internal/earlysignal" // first: takes the signals while the rest initializes
	"github.com/corralhq/corral/plugins"
	_ "github.com/corralhq/corral/plugins/all" // the built-in plugins
	"github.com/corralhq/corral/services"
	"github.com/corralhq/corral/supervisor"
	"github.com/corralhq/corral/supervisor/logfile"
	"github.com/corralhq/corral/supervisor/output"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// config is corral's command line.
type config struct {
	servicesDir  string
	socket       string
	socketGroup  string
	logDir       string
	metricsAddr  string
	logLevel     string
	noLogFiles   bool
	noWatch      bool
	waitServices time.Duration
	waitFatal    bool
	main         []string
	// set holds the flags given on the command line or by their variable,
	// so that defaults may fall back and explicit choices never do.
	set map[string]bool
	// s6 is the s6-overlay mode: auto, on or off (s6setup.go).
	s6 string
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func parseFlags(args []string, stderr io.Writer) (*config, int, bool) {
	c := &config{set: map[string]bool{}}
	for flag, env := range map[string]string{"socket": "CORRAL_SOCKET", "log-dir": "CORRAL_LOG_DIR"} {
		if _, ok := os.LookupEnv(env); ok {
			c.set[flag] = true
		}
	}
	fs := flag.NewFlagSet("corral", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.servicesDir, "services-dir", envOr("CORRAL_SERVICES_DIR", "/etc/services.d"), "directory of *.toml service files (env CORRAL_SERVICES_DIR)")
	fs.StringVar(&c.socket, "socket", envOr("CORRAL_SOCKET", control.DefaultSocket), "control socket for supervisorctl (env CORRAL_SOCKET); empty turns it off")
	fs.StringVar(&c.socketGroup, "socket-group", envOr("CORRAL_SOCKET_GROUP", ""), "group allowed to use the control socket besides root (env CORRAL_SOCKET_GROUP)")
	fs.StringVar(&c.logDir, "log-dir", envOr("CORRAL_LOG_DIR", logfile.DefaultDir), "root of the services' rotating log files (env CORRAL_LOG_DIR)")
	fs.BoolVar(&c.noLogFiles, "no-log-files", false, "write no service log files (console only)")
	fs.BoolVar(&c.noWatch, "no-watch", false, "do not watch --services-dir; apply changes on SIGHUP or `supervisorctl update` only")
	fs.StringVar(&c.metricsAddr, "metrics-addr", envOr("CORRAL_METRICS_ADDR", ""), "also serve /metrics on this TCP address, e.g. :9100 (env CORRAL_METRICS_ADDR; off by default)")
	fs.StringVar(&c.logLevel, "log-level", envOr("CORRAL_LOG_LEVEL", "info"), "corral's own log level: debug, info, warn, error (env CORRAL_LOG_LEVEL)")
	waitDefault := 60 * time.Second
	if v := os.Getenv("CORRAL_WAIT_SERVICES"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			fmt.Fprintf(stderr, "corral: CORRAL_WAIT_SERVICES=%q: want a duration such as \"30s\" (0: no limit)\n", v)
			return nil, 2, true
		}
		waitDefault = d
	}
	fs.DurationVar(&c.waitServices, "wait-services", waitDefault, "longest wait of the main command for the services to be ready (env CORRAL_WAIT_SERVICES; 0: no limit); then it starts anyway")
	fs.BoolVar(&c.waitFatal, "wait-services-fatal", os.Getenv("CORRAL_WAIT_SERVICES_FATAL") == "1", "stop with exit code 1 instead when --wait-services passes (env CORRAL_WAIT_SERVICES_FATAL=1)")
	fs.StringVar(&c.s6, "s6", envOr("CORRAL_S6", "auto"), "s6-overlay mode: auto (on when the image has s6-overlay's trees or S6_* variables), on, off (env CORRAL_S6)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: corral [flags] [--] [command [args...]]\n\n"+
			"corral supervises the services of --services-dir as PID 1. The optional\n"+
			"command is the main program: when it exits, corral stops every service\n"+
			"and exits with its code.\n\nflags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nplugins: %s\n", strings.Join(plugins.Names(), ", "))
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, 0, true
		}
		return nil, 2, true
	}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	if *showVersion {
		fmt.Fprintf(os.Stdout, "corral %s\n", version)
		return nil, 0, true
	}
	c.main = fs.Args()
	return c, 0, false
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q: %w", level, err)
	}
	h := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{
		Level: l,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // container runtimes stamp each line already
			}
			return a
		},
	})
	return slog.New(h), nil
}

func main() {
	if code, ok := appletMain(os.Args); ok { // with-contenv, s6-svc... (applet.go)
		os.Exit(code)
	}
	// The signals were taken by earlysignal's init, before the slower
	// packages initialized: one sent right after exec is queued there.
	os.Exit(run(os.Args[1:], earlysignal.C()))
}

func run(args []string, sigc <-chan os.Signal) int {
	c, code, exit := parseFlags(args, os.Stderr)
	if exit {
		return code
	}
	s6c, code, exit := setupS6(c) // s6-overlay mode (s6setup.go); nil when off
	if exit {
		return code
	}
	base, err := newLogger(c.logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corral:", err)
		return 2
	}
	log := base.With("component", "corral")
	c.resolvePaths(log)
	logDir := c.logDir
	if c.noLogFiles {
		logDir = "" // plugins see that no log files are written
	}
	// The main command starts once the control socket listens (or could
	// not be made), so that it may use supervisorctl at once.
	listening := make(chan struct{})
	opts := supervisor.Options{
		ServicesDir:       c.servicesDir,
		LogDir:            logDir,
		MainAfter:         listening,
		ExportEnv:         c.exportEnv(),
		Logger:            log,
		Signals:           sigc,
		WaitServices:      c.waitServices,
		WaitServicesFatal: c.waitFatal,
	}
	if c.noWatch {
		opts.WatchQuiet = -1
	}
	if !c.noLogFiles {
		base := logfile.Options{Dir: c.logDir, Logger: base.With("component", "logfile")}
		opts.OpenLogSink = func(svc *services.Service) (output.LineSink, error) {
			return logfile.Open(base.With(svc.Log.MaxSize, svc.Log.Keep, svc.Log.Timestamps), svc.Name)
		}
		opts.LogPath = func(service string, stream output.Stream) string {
			return logfile.CurrentPath(c.logDir, service, stream)
		}
	}
	s6c.configure(&opts, c.set["wait-services"] || os.Getenv("CORRAL_WAIT_SERVICES") != "")
	sup, err := supervisor.New(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "corral:", err)
		return 111
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan struct{})
	if c.socket != "" {
		// Off the critical path: the first services start while the
		// socket is being set up.
		go func() {
			defer close(served)
			ln, err := server.Listen(c.socket, c.socketGroup)
			close(listening)
			if err != nil {
				log.Error("control socket disabled", "socket", c.socket, "err", err)
				return
			}
			err = server.Serve(ctx, ln, sup, server.Options{Logger: base.With("component", "control"), Version: version})
			if err != nil && ctx.Err() == nil {
				log.Error("control server", "err", err)
			}
		}()
	} else {
		close(served)
		close(listening)
	}
	if c.metricsAddr != "" {
		go func() {
			if err := server.ServeMetrics(ctx, c.metricsAddr, sup); err != nil && ctx.Err() == nil {
				log.Error("metrics server", "addr", c.metricsAddr, "err", err)
			}
		}()
	}
	var _ server.Controller = sup
	s6c.start(ctx, sup)
	code = s6c.finish(sup.Run(ctx, c.main), len(c.main) > 0)
	// Close the control socket (and remove its file) before exiting, so
	// that a client sees "no such file" rather than a dead socket.
	cancel()
	select {
	case <-served:
	case <-time.After(time.Second):
	}
	return code
}
