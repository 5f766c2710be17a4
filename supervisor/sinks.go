package supervisor

import (
	"log/slog"
	"sync"

	"github.com/corralhq/corral/services"
	"github.com/corralhq/corral/supervisor/output"
)

// lockedSink serialises a service's two reader goroutines (stdout, stderr,
// and those of a previous instance still draining) into one sink, and
// drops lines written after Close.
type lockedSink struct {
	mu     sync.Mutex
	s      output.LineSink
	closed bool
}

func (l *lockedSink) WriteLine(line *output.Line) {
	l.mu.Lock()
	if !l.closed {
		l.s.WriteLine(line)
	}
	l.mu.Unlock()
}

func (l *lockedSink) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.s.Close()
}

// openSinks builds the output sinks of svc: the console (with the
// "[name] " prefix unless turned off) and the log files.
func (s *Supervisor) openSinks(svc *services.Service, log *slog.Logger) []output.LineSink {
	var sinks []output.LineSink
	if svc.Log.Console {
		prefix := ""
		if svc.Log.Prefix {
			prefix = "[" + svc.Name + "] "
		}
		sinks = append(sinks, s.console.Sink(prefix))
	}
	if svc.Log.Files && s.opts.OpenLogSink != nil {
		ls, err := s.opts.OpenLogSink(svc)
		if err != nil {
			log.Error("log files disabled for this service", "err", err)
		} else {
			sinks = append(sinks, &lockedSink{s: ls})
		}
	}
	return sinks
}
