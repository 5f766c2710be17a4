package supervisor

import (
	"bufio"
	"errors"
	"io"
	"os"
	"sync"
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

// readLines reads r line by line until EOF and passes each line to sinks.
// Lines longer than MaxLine are passed in pieces marked Partial; a last line
// without a newline is passed as it is.
func readLines(r io.Reader, service string, stream Stream, sinks []LineSink) {
	br := bufio.NewReaderSize(r, MaxLine)
	l := Line{Service: service, Stream: stream}
	for {
		data, err := br.ReadSlice('\n')
		if len(data) > 0 {
			l.Time = time.Now()
			l.Partial = errors.Is(err, bufio.ErrBufferFull)
			if !l.Partial && data[len(data)-1] == '\n' {
				data = data[:len(data)-1]
			}
			l.Text = data
			for _, s := range sinks {
				s.WriteLine(&l)
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// outputPipes holds the pipes of one process's stdout and stderr.
type outputPipes struct {
	stdoutR, stdoutW *os.File
	stderrR, stderrW *os.File
}

func newOutputPipes() (*outputPipes, error) {
	p := &outputPipes{}
	var err error
	if p.stdoutR, p.stdoutW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if p.stderrR, p.stderrW, err = os.Pipe(); err != nil {
		p.stdoutR.Close()
		p.stdoutW.Close()
		return nil, err
	}
	return p, nil
}

// startReaders closes the parent's write ends and reads both streams until
// every holder of the write ends (the process and its children) closed them.
// done is closed when both readers have finished.
func (p *outputPipes) startReaders(service string, sinks []LineSink) (done <-chan struct{}) {
	p.stdoutW.Close()
	p.stderrW.Close()
	ch := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); readLines(p.stdoutR, service, Stdout, sinks); p.stdoutR.Close() }()
	go func() { defer wg.Done(); readLines(p.stderrR, service, Stderr, sinks); p.stderrR.Close() }()
	go func() { wg.Wait(); close(ch) }()
	return ch
}

// closeAll releases every end, for a process that failed to start.
func (p *outputPipes) closeAll() {
	for _, f := range []*os.File{p.stdoutR, p.stdoutW, p.stderrR, p.stderrW} {
		f.Close()
	}
}
