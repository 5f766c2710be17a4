package supervisor

import (
	"sync"

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

// openSinks builds the unit's output sinks from its definition: the console
// (with the "[name] " prefix unless turned off) and the log files.
func (u *unit) openSinks() {
	u.mu.Lock()
	svc := u.svc
	u.mu.Unlock()
	var sinks []output.LineSink
	if svc.Log.Console {
		prefix := ""
		if svc.Log.Prefix {
			prefix = "[" + svc.Name + "] "
		}
		sinks = append(sinks, u.sup.console.Sink(prefix))
	}
	if svc.Log.Files && u.sup.opts.OpenLogSink != nil {
		s, err := u.sup.opts.OpenLogSink(svc)
		if err != nil {
			u.log.Error("log files disabled for this service", "err", err)
		} else {
			sinks = append(sinks, &lockedSink{s: s})
		}
	}
	u.mu.Lock()
	u.sinks = sinks
	u.mu.Unlock()
}

// currentSinks returns the sinks for a new instance.
func (u *unit) currentSinks() []output.LineSink {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sinks
}

// closeSinks closes the unit's sinks (when it is removed or redefined).
func (u *unit) closeSinks() {
	u.mu.Lock()
	sinks := u.sinks
	u.sinks = nil
	u.mu.Unlock()
	for _, s := range sinks {
		if err := s.Close(); err != nil {
			u.log.Warn("closing log sink", "err", err)
		}
	}
}
