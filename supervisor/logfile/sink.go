package logfile

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corralhq/corral/supervisor/output"
)

// Sink writes one service's lines to its files. It implements
// output.LineSink; WriteLine never blocks on the disk.
type Sink struct {
	service string
	opts    Options
	streams [2]*stream
	wake    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	closed  atomic.Bool
	once    sync.Once
	fmu     sync.Mutex
	flushed *sync.Cond // broadcast after each round of writes, under fmu
}

// Stats counts what a Sink did since it was opened.
type Stats struct {
	// Lines and Bytes written to files (Bytes includes timestamps and newlines).
	Lines, Bytes uint64
	// DroppedLines were not written: the buffer was full or a write failed.
	DroppedLines uint64
	// WriteErrors counts failed writes, opens and rotations.
	WriteErrors uint64
	// Rotations counts rotations of current.
	Rotations uint64
}

// Open starts the files of service under opts.Dir. It fails only on bad
// arguments: a directory that cannot be created or written is reported
// through opts.Logger and retried, while lines are dropped from the files.
func Open(opts Options, service string) (*Sink, error) {
	if opts.Dir == "" {
		return nil, errors.New("logfile: no log directory")
	}
	if service == "" || service == "." || service == ".." || strings.ContainsAny(service, "/\x00") {
		return nil, fmt.Errorf("logfile: bad service name %q", service)
	}
	opts = opts.withDefaults()
	s := &Sink{
		service: service,
		opts:    opts,
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	s.flushed = sync.NewCond(&s.fmu)
	for _, st := range []output.Stream{output.Stdout, output.Stderr} {
		s.streams[st] = &stream{
			dir:    StreamDir(opts.Dir, service, st),
			name:   service + " " + st.String(),
			opts:   &s.opts,
			pend:   make([]byte, 0, 4096),
			spare:  make([]byte, 0, 4096),
			logger: opts.Logger.With("service", service, "stream", st.String()),
		}
	}
	go s.run()
	return s, nil
}

// WriteLine queues l for its file. It drops the line, and counts it, when
// the stream's buffer is full or the sink is closed.
func (s *Sink) WriteLine(l *output.Line) {
	st := s.streams[l.Stream&1]
	if s.closed.Load() {
		st.dropped.Add(1)
		return
	}
	need := len(l.Text) + 1
	if s.opts.Timestamps {
		need += TimestampLen
	}
	st.mu.Lock()
	if len(st.pend)+need > s.opts.BufferSize {
		st.mu.Unlock()
		st.dropped.Add(1)
		return
	}
	first := len(st.pend) == 0
	if s.opts.Timestamps {
		t := l.Time
		if t.IsZero() {
			t = time.Now()
		}
		st.pend = st.stamp.append(st.pend, t)
	}
	st.pend = append(st.pend, l.Text...)
	st.pend = append(st.pend, '\n')
	st.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Flush waits until the lines queued so far are written (or dropped).
func (s *Sink) Flush() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	for !s.idle() && !s.closed.Load() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
		s.flushed.Wait()
	}
}

// idle reports whether nothing is queued or being written.
func (s *Sink) idle() bool {
	for _, st := range s.streams {
		st.mu.Lock()
		busy := len(st.pend) > 0 || st.busy
		st.mu.Unlock()
		if busy {
			return false
		}
	}
	return true
}

// signalFlushed wakes Flush callers.
func (s *Sink) signalFlushed() {
	s.fmu.Lock()
	s.flushed.Broadcast()
	s.fmu.Unlock()
}

// Close writes what is queued, syncs and closes the files. It is safe to
// call twice.
func (s *Sink) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.quit)
	})
	<-s.done
	var errs []error
	for _, st := range s.streams {
		if err := st.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stats returns the sink's counters, both streams added.
func (s *Sink) Stats() Stats {
	var t Stats
	for _, st := range s.streams {
		t.Lines += st.lines.Load()
		t.Bytes += st.bytes.Load()
		t.DroppedLines += st.dropped.Load()
		t.WriteErrors += st.errors.Load()
		t.Rotations += st.rotations.Load()
	}
	return t
}

// run is the writer goroutine: it writes each stream's pending lines.
func (s *Sink) run() {
	defer s.signalFlushed()
	defer close(s.done)
	// Create both files now, so that an idle stream can be tailed.
	for _, st := range s.streams {
		if err := st.open(); err != nil {
			st.fail(fmt.Errorf("opening %s: %w", st.dir, err), nil)
		}
	}
	for {
		select {
		case <-s.wake:
			s.flushAll()
			s.signalFlushed()
		case <-s.quit:
			s.flushAll()
			return
		}
	}
}

func (s *Sink) flushAll() {
	for _, st := range s.streams {
		st.mu.Lock()
		batch := st.pend
		st.pend = st.spare[:0]
		st.busy = len(batch) > 0
		st.mu.Unlock()
		if len(batch) > 0 {
			st.write(batch)
		}
		st.mu.Lock()
		st.spare = batch[:0]
		st.busy = false
		st.mu.Unlock()
	}
}

var _ output.LineSink = (*Sink)(nil)
