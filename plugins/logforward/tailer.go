package logforward

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/corralhq/corral/supervisor/logfile"
	"github.com/corralhq/corral/supervisor/output"
)

// readBufSize is each tailer's read buffer: room for the longest line the
// engine writes (MaxLine plus a timestamp) with batches of short lines.
const readBufSize = 256 << 10

// checkpoint is a mark the collector acknowledged at a time.
type checkpoint struct {
	at time.Time
	m  mark
}

// tailer reads one stream of one service and formats its lines. It is
// used by the sender goroutine only, but for lag, read by Status.
type tailer struct {
	service string
	stream  output.Stream
	dir     string // the stream directory
	app     []byte // APP-NAME
	posPath string

	r    *logfile.Reader
	buf  []byte
	read mark // after the last line formatted
	// safe is acknowledged and older than the resend window: where reading
	// starts again after a lost connection.
	safe  mark
	acked []checkpoint // acknowledged after safe, oldest first

	lag  atomic.Int64
	gaps int // times lines were pruned before being read
}

// newTailer starts a tailer at its saved mark.
func newTailer(logDir, stateDir, service string, stream output.Stream) (*tailer, error) {
	t := &tailer{
		service: service,
		stream:  stream,
		dir:     logfile.StreamDir(logDir, service, stream),
		app:     sanitize(service, 48),
		posPath: posPath(stateDir, service, stream.String()),
	}
	m, err := loadMark(t.posPath)
	if err != nil {
		return nil, err
	}
	t.read, t.safe = m, m
	return t, nil
}

// open opens the Reader at the read mark, if the stream has a file yet.
func (t *tailer) open() (bool, error) {
	var pos *logfile.Position
	if t.read.set {
		pos = &t.read.pos
	}
	r, gap, err := logfile.OpenReader(t.dir, pos)
	if errors.Is(err, logfile.ErrNoFile) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if gap {
		t.gaps++
	}
	t.r = r
	if t.buf == nil {
		t.buf = make([]byte, readBufSize)
	}
	return true, nil
}

// fill formats lines into out until it holds max bytes or no whole line is
// left; it returns out and the number of lines added. The read mark moves
// past the lines added. On an error, nothing is added and the mark stays,
// so the lines are read again.
func (t *tailer) fill(out []byte, max int, f *formatter) ([]byte, int, error) {
	if t.r == nil {
		if ok, err := t.open(); !ok || err != nil {
			return out, 0, err
		}
	}
	start, orig := len(out), t.read
	out, lines, err := t.readLines(out, max, f)
	if err == nil && lines > 0 {
		var pos logfile.Position
		if pos, err = t.r.Position(); err == nil {
			t.read.pos, t.read.set = pos, true
			return out, lines, nil
		}
	}
	if err != nil {
		t.read = orig
		t.close()
		return out[:start], 0, err
	}
	return out, lines, nil
}

// readLines is fill's loop; it moves the reader and the seq, not the mark's
// position.
func (t *tailer) readLines(out []byte, max int, f *formatter) ([]byte, int, error) {
	lines := 0
	for len(out) < max {
		n, err := t.r.Peek(t.buf)
		if err != nil {
			return out, lines, fmt.Errorf("reading %s: %w", t.dir, err)
		}
		data := t.buf[:n]
		end := bytes.LastIndexByte(data, '\n') + 1
		if end == 0 && n < len(t.buf) {
			// No whole line: wait for more, unless the file is done.
			rotated, err := t.r.Rotated()
			if err != nil {
				return out, lines, fmt.Errorf("checking %s: %w", t.dir, err)
			}
			if !rotated {
				break
			}
			if n, err = t.r.Peek(t.buf); err != nil {
				return out, lines, fmt.Errorf("reading %s: %w", t.dir, err)
			}
			if bytes.IndexByte(t.buf[:n], '\n') >= 0 {
				continue // written just before the rotation
			}
			if n == 0 {
				if lines > 0 {
					break // end the batch in this file: its mark is simple
				}
				next, err := t.r.Next()
				if err != nil {
					return out, lines, fmt.Errorf("following %s: %w", t.dir, err)
				}
				if !next {
					break
				}
				continue
			}
			data, end = t.buf[:n], n // a last line without '\n'
		} else if end == 0 {
			end = n // a line longer than the buffer: send it in pieces
		}
		used := 0
		for used < end && len(out) < max {
			line := data[used:end]
			i := bytes.IndexByte(line, '\n')
			if i >= 0 {
				line = line[:i]
				used += i + 1
			} else {
				used = end
			}
			t.read.seq++
			out = f.append(out, t.app, t.stream, t.read.seq, line)
			lines++
		}
		t.r.Advance(used)
	}
	return out, lines, nil
}

// ack records that the collector has the lines up to m.
func (t *tailer) ack(m mark, now time.Time, window time.Duration) {
	t.acked = append(t.acked, checkpoint{at: now, m: m})
	t.settle(now, window)
}

// settle makes the marks acknowledged longer than window ago safe.
func (t *tailer) settle(now time.Time, window time.Duration) {
	i := 0
	for i < len(t.acked) && now.Sub(t.acked[i].at) >= window {
		t.safe = t.acked[i].m
		i++
	}
	t.acked = t.acked[i:]
}

// rewind goes back to the safe mark after a lost connection, so that lines
// the collector may not have read are sent again.
func (t *tailer) rewind() {
	t.acked = t.acked[:0]
	t.read = t.safe
	if t.r != nil {
		t.r.Close()
		t.r = nil
	}
}

// updateLag measures the bytes not yet read.
func (t *tailer) updateLag() {
	if t.r != nil {
		t.lag.Store(t.r.Lag())
	}
}

// close releases the open file.
func (t *tailer) close() {
	if t.r != nil {
		t.r.Close()
		t.r = nil
	}
}
