package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// reopenEvery bounds how often a stream whose file could not be opened
// tries again.
const reopenEvery = time.Second

// errorLogEvery bounds how often a stream logs write errors.
const errorLogEvery = 10 * time.Second

// stream is one stream's file: the queue filled by WriteLine (under mu) and
// the file state owned by the writer goroutine.
type stream struct {
	mu    sync.Mutex
	pend  []byte
	spare []byte
	busy  bool
	stamp stampCache

	lines, bytes, dropped, errors, rotations atomic.Uint64

	dir    string
	name   string
	opts   *Options
	logger *slog.Logger

	f        *os.File
	size     int64
	failing  bool
	failedAt uint64    // dropped count when the current failure burst began
	loggedAt time.Time // when an error was last logged
	lastOpen time.Time
}

// open opens (creating it and its directory) current for appending.
func (st *stream) open() error {
	st.lastOpen = time.Now()
	if err := os.MkdirAll(st.dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(st.dir, CurrentName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	st.f, st.size = f, fi.Size()
	return nil
}

// write writes a batch of whole lines, rotating on the way as needed.
func (st *stream) write(batch []byte) {
	if st.f == nil {
		if time.Since(st.lastOpen) < reopenEvery && !st.lastOpen.IsZero() {
			st.drop(batch)
			return
		}
		if err := st.open(); err != nil {
			st.fail(fmt.Errorf("opening %s: %w", st.dir, err), batch)
			return
		}
	}
	max := st.opts.MaxSize
	for len(batch) > 0 {
		chunk := batch
		if room := max - st.size; int64(len(chunk)) > room {
			cut := 0
			if room > 0 {
				cut = bytes.LastIndexByte(chunk[:room], '\n') + 1
			}
			if cut == 0 {
				if st.size > 0 {
					st.rotate()
					if st.f == nil {
						st.drop(batch)
						return
					}
					continue
				}
				cut = bytes.IndexByte(chunk, '\n') + 1 // one line longer than MaxSize
			}
			chunk = chunk[:cut]
		}
		n, err := st.f.Write(chunk)
		if err != nil {
			if n > 0 {
				// Keep the file line-aligned for its readers.
				_ = st.f.Truncate(st.size)
			}
			st.fail(fmt.Errorf("writing %s: %w", st.f.Name(), err), batch)
			return
		}
		st.size += int64(n)
		st.lines.Add(uint64(bytes.Count(chunk, []byte{'\n'})))
		st.bytes.Add(uint64(n))
		batch = batch[len(chunk):]
		st.recovered()
		if st.size >= max {
			st.rotate()
			if st.f == nil && len(batch) > 0 {
				st.drop(batch)
				return
			}
		}
	}
}

// rotate renames current to a new archive, opens a new current and deletes
// archives beyond Keep.
func (st *stream) rotate() {
	cur := filepath.Join(st.dir, CurrentName)
	if err := st.f.Sync(); err != nil {
		st.fail(fmt.Errorf("syncing %s: %w", cur, err), nil)
	}
	t := time.Now()
	var name string
	for {
		name = ArchiveName(t)
		if _, err := os.Lstat(filepath.Join(st.dir, name)); errors.Is(err, os.ErrNotExist) {
			break
		}
		t = t.Add(time.Nanosecond)
	}
	if err := os.Rename(cur, filepath.Join(st.dir, name)); err != nil {
		st.fail(fmt.Errorf("rotating %s: %w", cur, err), nil)
		return // keep writing to the same file
	}
	st.rotations.Add(1)
	st.f.Close()
	st.f, st.size = nil, 0
	if err := st.open(); err != nil {
		st.fail(fmt.Errorf("opening %s: %w", cur, err), nil)
	}
	st.prune()
}

// prune deletes the oldest archives beyond Keep.
func (st *stream) prune() {
	names, err := Archives(st.dir)
	if err != nil {
		st.fail(fmt.Errorf("listing %s: %w", st.dir, err), nil)
		return
	}
	for len(names) > st.opts.Keep {
		if err := os.Remove(filepath.Join(st.dir, names[0])); err != nil && !errors.Is(err, os.ErrNotExist) {
			st.fail(fmt.Errorf("pruning %s: %w", st.dir, err), nil)
		}
		names = names[1:]
	}
}

// drop counts the lines of a batch that are not written.
func (st *stream) drop(batch []byte) {
	st.dropped.Add(uint64(bytes.Count(batch, []byte{'\n'})))
}

// fail counts an error and the lines lost with it, and logs the first error
// of a burst.
func (st *stream) fail(err error, batch []byte) {
	st.errors.Add(1)
	st.drop(batch)
	if !st.failing {
		st.failing = true
		st.failedAt = st.dropped.Load() - uint64(bytes.Count(batch, []byte{'\n'}))
		// A disk that is nearly full fails and succeeds by turns: log the
		// first error of a burst, then at most every errorLogEvery.
		if time.Since(st.loggedAt) >= errorLogEvery {
			st.loggedAt = time.Now()
			st.logger.Error("logfile: file output suspended, console output goes on",
				"err", err, "errors_total", st.errors.Load(), "dropped_lines_total", st.dropped.Load())
		}
	}
}

// recovered ends a failure burst after a successful write.
func (st *stream) recovered() {
	if st.failing {
		st.failing = false
		st.logger.Info("logfile: file output resumed", "dropped_lines", st.dropped.Load()-st.failedAt)
	}
}

func (st *stream) close() error {
	if st.f == nil {
		return nil
	}
	err := st.f.Sync()
	if cerr := st.f.Close(); err == nil {
		err = cerr
	}
	st.f = nil
	if err != nil {
		return fmt.Errorf("logfile: closing %s: %w", st.name, err)
	}
	return nil
}
