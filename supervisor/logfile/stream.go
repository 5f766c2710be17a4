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

// nextName is the temporary name of a new current during a rotation.
const nextName = ".next"

// open opens (creating it and its directory) current for appending. A
// current that is also the newest archive (corral stopped in the middle of
// a rotation) is left to the archive, and a new current started.
func (st *stream) open() error {
	st.lastOpen = time.Now()
	if err := os.MkdirAll(st.dir, 0o755); err != nil {
		return err
	}
	cur := filepath.Join(st.dir, CurrentName)
	f, err := os.OpenFile(cur, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if names, _ := Archives(st.dir); len(names) > 0 {
		last, err := os.Stat(filepath.Join(st.dir, names[len(names)-1]))
		if err == nil && os.SameFile(fi, last) {
			f.Close()
			if f, err = renew(st.dir); err != nil {
				return err
			}
			st.f, st.size = f, 0
			return nil
		}
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

// rotate turns current into a new archive and starts a new current,
// without a moment in which current does not exist (a reader opening it by
// name always finds the old file or the new one), then deletes archives
// beyond Keep. As s6-log does: the archive is made a second name of
// current (a hard link), the new file is created under a temporary name and
// renamed over current. A file system without hard links gets two renames
// (current to the archive, the new file to current), with a window between
// them.
func (st *stream) rotate() {
	cur := filepath.Join(st.dir, CurrentName)
	if err := st.f.Sync(); err != nil {
		st.fail(fmt.Errorf("syncing %s: %w", cur, err), nil)
	}
	t := time.Now()
	var arch string
	for {
		arch = filepath.Join(st.dir, ArchiveName(t))
		if _, err := os.Lstat(arch); errors.Is(err, os.ErrNotExist) {
			break
		}
		t = t.Add(time.Nanosecond)
	}
	f, err := st.swap(cur, arch)
	if err != nil {
		st.fail(fmt.Errorf("rotating %s: %w", cur, err), nil)
		if _, serr := os.Stat(cur); errors.Is(serr, os.ErrNotExist) {
			// Archived without a new current: never write to an archive;
			// write reopens current later.
			st.f.Close()
			st.f, st.size = nil, 0
		}
		return // else keep writing to the same file
	}
	st.rotations.Add(1)
	st.f.Close()
	st.f, st.size = f, 0
	st.prune()
}

// swap makes arch the archive of current (cur) and returns the new current,
// open for appending.
func (st *stream) swap(cur, arch string) (*os.File, error) {
	if err := os.Link(cur, arch); err == nil {
		f, err := renew(st.dir)
		if err != nil {
			_ = os.Remove(arch)
			return nil, err
		}
		return f, nil
	}
	// No hard links here: two renames.
	if err := os.Rename(cur, arch); err != nil {
		return nil, err
	}
	return renew(st.dir)
}

// renew creates an empty file under a temporary name in dir and renames it
// over current, returning it open for appending.
func renew(dir string) (*os.File, error) {
	next := filepath.Join(dir, nextName)
	f, err := os.OpenFile(next, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(next, filepath.Join(dir, CurrentName)); err != nil {
		f.Close()
		_ = os.Remove(next)
		return nil, err
	}
	return f, nil
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
