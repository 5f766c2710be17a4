package output

import (
	"bufio"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Console writes service lines to corral's stdout and stderr with an optional
// "[name] " prefix. Each line goes out in one write under a lock, so lines
// of two services never interleave mid-line.
type Console struct {
	mu          sync.Mutex
	out, errOut io.Writer
	buf         []byte
}

// NewConsole writes stdout lines to out and stderr lines to errOut.
func NewConsole(out, errOut io.Writer) *Console {
	return &Console{out: out, errOut: errOut, buf: make([]byte, 0, 4096)}
}

// consoleSink is one service's view of the Console.
type consoleSink struct {
	c      *Console
	prefix string
}

// Sink returns the LineSink for one service; an empty prefix writes the
// line as it is.
func (c *Console) Sink(prefix string) LineSink { return &consoleSink{c: c, prefix: prefix} }

// WriteLine writes one line (or piece of an over-long line).
func (s *consoleSink) WriteLine(l *Line) {
	c := s.c
	c.mu.Lock()
	b := c.buf[:0]
	b = append(b, s.prefix...)
	b = append(b, l.Text...)
	b = append(b, '\n')
	w := c.out
	if l.Stream == Stderr {
		w = c.errOut
	}
	_, _ = w.Write(b) // the console is best effort: a closed stdout must not stop services
	if cap(b) <= 64<<10 {
		c.buf = b
	}
	c.mu.Unlock()
}

// Close does nothing: the console outlives services.
func (s *consoleSink) Close() error { return nil }

// readBuffer is the reader's buffer; longer lines are gathered in a
// separate slice up to MaxLine, so a quiet service costs 4 KiB, not 64.
const readBuffer = 4 << 10

// readLines reads r line by line until EOF and passes each line to sinks.
// Lines longer than MaxLine are passed in pieces marked Partial; a last line
// without a newline is passed as it is.
func readLines(r io.Reader, service string, stream Stream, sinks []LineSink) {
	br := bufio.NewReaderSize(r, readBuffer)
	l := Line{Service: service, Stream: stream}
	var long []byte // a line longer than the buffer, being gathered
	emit := func(text []byte, partial bool) {
		l.Time, l.Text, l.Partial = time.Now(), text, partial
		for _, s := range sinks {
			s.WriteLine(&l)
		}
	}
	for {
		data, err := br.ReadSlice('\n')
		full := errors.Is(err, bufio.ErrBufferFull)
		if full || long != nil {
			long = append(long, data...)
			for len(long) >= MaxLine && (full || long[len(long)-1] != '\n' || len(long) > MaxLine) {
				emit(long[:MaxLine], true)
				long = append(long[:0], long[MaxLine:]...)
			}
			if full {
				continue
			}
			data, long = long, nil
		}
		if len(data) > 0 {
			if data[len(data)-1] == '\n' {
				data = data[:len(data)-1]
			}
			emit(data, false)
		}
		if err != nil {
			return
		}
	}
}

// Pipes holds the pipes of one process's stdout and stderr: give StdoutW and
// StderrW to the child, then call Start.
type Pipes struct {
	stdoutR, StdoutW *os.File
	stderrR, StderrW *os.File
}

// NewPipes makes the two pipes.
func NewPipes() (*Pipes, error) {
	p := &Pipes{}
	var err error
	if p.stdoutR, p.StdoutW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if p.stderrR, p.StderrW, err = os.Pipe(); err != nil {
		p.stdoutR.Close()
		p.StdoutW.Close()
		return nil, err
	}
	return p, nil
}

// Start closes the parent's write ends and reads both streams until
// every holder of the write ends (the process and its children) closed them.
// done is closed when both readers have finished.
func (p *Pipes) Start(service string, sinks []LineSink) (done <-chan struct{}) {
	p.StdoutW.Close()
	p.StderrW.Close()
	ch := make(chan struct{})
	var left atomic.Int32
	left.Store(2)
	read := func(f *os.File, stream Stream) {
		readLines(f, service, stream, sinks)
		f.Close()
		if left.Add(-1) == 0 {
			close(ch) // the last reader to finish
		}
	}
	go read(p.stdoutR, Stdout)
	go read(p.stderrR, Stderr)
	return ch
}

// Close releases every end, for a process that failed to start.
func (p *Pipes) Close() {
	for _, f := range []*os.File{p.stdoutR, p.StdoutW, p.stderrR, p.StderrW} {
		f.Close()
	}
}
