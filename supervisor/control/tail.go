package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// tailStart opens path and positions it so that what follows is the last
// lines lines (when lines > 0) or the last nbytes bytes of the file.
func tailStart(path string, lines int, nbytes int64) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, err
	}
	off := size - nbytes
	if lines > 0 {
		off, err = lineOffset(f, size, lines)
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	if off < 0 {
		off = 0
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lineOffset finds where the last n lines of f (of size bytes) start,
// reading backwards in blocks. A final line without '\n' counts as a line.
func lineOffset(f *os.File, size int64, n int) (int64, error) {
	const block = 8 << 10
	buf := make([]byte, block)
	end := size
	seen := 0
	// A trailing newline ends the last line; it does not start a new one.
	skipLast := true
	for end > 0 {
		start := max(end-block, 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' {
				skipLast = false
				continue
			}
			if skipLast {
				skipLast = false
				continue
			}
			seen++
			if seen == n {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}

// follower copies a log file to w as it grows, following it when it is
// rotated (the path then names a new file): it reads the old file to its end
// and carries on with the new one from its start.
type follower struct {
	path string
	f    *os.File
	poll time.Duration
	buf  []byte
}

// run copies until ctx is done or a write fails; flush is called after each
// batch written.
func (fl *follower) run(ctx context.Context, w io.Writer, flush func()) error {
	defer func() { fl.f.Close() }()
	fl.buf = make([]byte, 32<<10)
	t := time.NewTicker(fl.poll)
	defer t.Stop()
	for {
		n, err := fl.drain(w)
		if err != nil {
			return err
		}
		if n > 0 {
			flush()
		}
		if n == 0 {
			if switched, err := fl.reopenIfRotated(w); err != nil {
				return err
			} else if switched {
				flush()
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// drain copies what the open file holds past the current offset.
func (fl *follower) drain(w io.Writer) (int64, error) {
	var total int64
	for {
		n, err := fl.f.Read(fl.buf)
		if n > 0 {
			if _, werr := w.Write(fl.buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if errors.Is(err, io.EOF) || n == 0 {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("reading log: %w", err)
		}
	}
}

// reopenIfRotated switches to the file now at path when it is not the open
// one (after copying what the old one got meanwhile), or when the open file
// shrank (truncated in place).
func (fl *follower) reopenIfRotated(w io.Writer) (bool, error) {
	cur, err := fl.f.Stat()
	if err != nil {
		return false, nil
	}
	now, err := os.Stat(fl.path)
	if err != nil {
		return false, nil // between rename and create: try again later
	}
	if os.SameFile(cur, now) {
		off, err := fl.f.Seek(0, io.SeekCurrent)
		if err == nil && now.Size() < off {
			_, _ = fl.f.Seek(0, io.SeekStart)
			return true, nil
		}
		return false, nil
	}
	nf, err := os.Open(fl.path)
	if err != nil {
		return false, nil
	}
	if _, err := fl.drain(w); err != nil {
		nf.Close()
		return false, err
	}
	fl.f.Close()
	fl.f = nf
	return true, nil
}

// lastBytes is a helper for tests and callers that want the tail as bytes.
func lastBytes(path string, lines int, nbytes int64) ([]byte, error) {
	f, err := tailStart(path, lines, nbytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	_, err = io.Copy(&b, f)
	return b.Bytes(), err
}
