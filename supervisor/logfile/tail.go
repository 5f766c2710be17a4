package logfile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"
)

// followPoll is how often Follow looks for new lines when it has none.
const followPoll = 100 * time.Millisecond

// Tail returns the last n lines of the file at path, each ending in '\n'
// (but a last line still being written). When path is a stream's current
// file with fewer than n lines, the newest archives fill in.
func Tail(path string, n int) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	files := []string{path}
	if filepath.Base(path) == CurrentName {
		names, err := Archives(filepath.Dir(path))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for i := len(names) - 1; i >= 0; i-- {
			files = append(files, filepath.Join(filepath.Dir(path), names[i]))
		}
	}
	var out []byte
	for i, p := range files {
		b, got, err := lastLines(p, n)
		if err != nil {
			if i > 0 && errors.Is(err, os.ErrNotExist) {
				continue // pruned meanwhile
			}
			return nil, err
		}
		out = append(b, out...)
		if n -= got; n <= 0 {
			break
		}
	}
	return out, nil
}

// lastLines returns the last up to n lines of a file and how many it found.
func lastLines(path string, n int) ([]byte, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := fi.Size()
	const chunk = 64 << 10
	var buf []byte
	end := size
	for end > 0 {
		start := max(end-chunk, 0)
		b := make([]byte, end-start)
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		buf = append(b, buf...)
		end = start
		if countLines(buf) > n {
			break
		}
	}
	// Drop whole lines from the front until n are left.
	for c := countLines(buf); c > n; c-- {
		i := bytes.IndexByte(buf, '\n')
		buf = buf[i+1:]
	}
	return buf, countLines(buf), nil
}

// countLines counts lines, a last one without '\n' included.
func countLines(b []byte) int {
	c := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		c++
	}
	return c
}

// Follow calls fn with each batch of whole lines added to the stream file
// at path (normally a current file) from offset from (negative: from the
// end), following it across rotations like tail -F, until ctx is done. The
// slice passed to fn is only valid during the call.
func Follow(ctx context.Context, path string, from int64, fn func([]byte)) error {
	dir := filepath.Dir(path)
	var r *Reader
	for r == nil {
		var err error
		r, _, err = OpenReader(dir, nil)
		if err != nil && !errors.Is(err, ErrNoFile) {
			return err
		}
		if r == nil {
			if err := sleep(ctx, followPoll); err != nil {
				return nil
			}
		}
	}
	defer r.Close()
	if filepath.Base(path) == CurrentName && r.Name() != "" {
		// Start in current, not the oldest archive.
		r.Close()
		if err := r.open("", 0); err != nil {
			return err
		}
	}
	if from < 0 {
		fi, err := r.f.Stat()
		if err != nil {
			return err
		}
		from = fi.Size()
	}
	r.off = from
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Peek(buf)
		if err != nil {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			fn(buf[:i+1])
			r.Advance(i + 1)
			continue
		}
		if n == len(buf) { // a line longer than buf: pass it in pieces
			fn(buf[:n])
			r.Advance(n)
			continue
		}
		rotated, err := r.Rotated()
		if err != nil {
			return err
		}
		if rotated {
			// The last writes may have landed after the Peek above.
			n, err := r.Peek(buf)
			if err != nil {
				return err
			}
			if bytes.IndexByte(buf[:n], '\n') >= 0 {
				continue
			}
			if n > 0 { // a last line without '\n
				fn(buf[:n])
				r.Advance(n)
			}
			if moved, err := r.Next(); err != nil {
				return err
			} else if moved {
				continue
			}
		}
		if err := sleep(ctx, followPoll); err != nil {
			return nil
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
