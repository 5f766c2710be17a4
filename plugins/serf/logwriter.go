package serf

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// logWriter turns Serf's and memberlist's log lines ("2006/01/02 15:04:05
// [INFO] serf: ...") into slog records. Serf's INFO lines, one per event,
// go to Debug: the plugin logs membership changes itself. Lines saying a
// message could not be decrypted are also counted by decrypt.
type logWriter struct {
	log     *slog.Logger
	decrypt *decryptWatch
	mu      sync.Mutex
	buf     []byte
}

// newLogWriter returns a writer logging to log and counting decryption
// failures in decrypt (when not nil).
func newLogWriter(log *slog.Logger, decrypt *decryptWatch) *logWriter {
	return &logWriter{log: log, decrypt: decrypt}
}

// Write implements io.Writer; it never fails.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// levels maps Serf's level tags to slog levels.
var levels = []struct {
	tag   string
	level slog.Level
}{
	{"[TRACE]", slog.LevelDebug - 4},
	{"[DEBUG]", slog.LevelDebug},
	{"[INFO]", slog.LevelDebug},
	{"[WARN]", slog.LevelWarn},
	{"[ERR]", slog.LevelError},
	{"[ERROR]", slog.LevelError},
}

// line logs one line.
func (w *logWriter) line(s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	level := slog.LevelInfo
	for _, l := range levels {
		if i := strings.Index(s, l.tag); i >= 0 {
			level = l.level
			s = strings.TrimSpace(s[i+len(l.tag):])
			break
		}
	}
	if w.decrypt != nil && isDecryptError(s) {
		w.decrypt.saw()
	}
	if strings.Contains(s, "Serf shutdown detected") {
		level = slog.LevelDebug // the agent's echo of our own Stop
	}
	w.log.Log(context.Background(), level, s, "from", "serf")
}
