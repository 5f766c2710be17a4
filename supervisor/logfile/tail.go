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
// file with fewer than n lines, the newest archives fill in: those older
// than the file read, which may have been archived meanwhile (then it is
// read once, and what was archived after it, being newer, is not read).
func Tail(path string, n int) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	out, got, err := lastLinesOf(f, fi.Size(), n)
	if err != nil {
		return nil, err
	}
	if n -= got; n <= 0 || filepath.Base(path) != CurrentName {
		return out, nil
	}
	names, err := olderArchives(filepath.Dir(path), fi)
	if err != nil {
		return nil, err
	}
	for i := len(names) - 1; i >= 0 && n > 0; i-- {
		b, got, err := lastLines(names[i], n)
		if errors.Is(err, os.ErrNotExist) {
			continue // pruned meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(b, out...)
		n -= got
	}
	return out, nil
}

// TailBytes returns a reader of the last n bytes of the file at path,
// which the caller closes. When path is a stream's current file shorter
// than n (just rotated, say), the newest archives fill in, as for Tail.
// The files are opened at once and read as the reader is.
func TailBytes(path string, n int64) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	t := &multiFile{}
	t.prepend(f, fi.Size(), n)
	n -= fi.Size()
	if n <= 0 || filepath.Base(path) != CurrentName {
		return t, nil
	}
	names, err := olderArchives(filepath.Dir(path), fi)
	if err != nil {
		t.Close()
		return nil, err
	}
	for i := len(names) - 1; i >= 0 && n > 0; i-- {
		a, err := os.Open(names[i])
		if errors.Is(err, os.ErrNotExist) {
			continue // pruned meanwhile
		}
		if err == nil {
			fi, err = a.Stat()
			if err != nil {
				a.Close()
			}
		}
		if err != nil {
			t.Close()
			return nil, err
		}
		t.prepend(a, fi.Size(), n)
		n -= fi.Size()
	}
	return t, nil
}

// multiFile reads the ends of files in order.
type multiFile struct {
	files []*os.File
	parts []io.Reader
}

// prepend puts the last up to n of the first size bytes of f first.
func (m *multiFile) prepend(f *os.File, size, n int64) {
	start := max(size-n, 0)
	m.files = append(m.files, f)
	m.parts = append([]io.Reader{io.NewSectionReader(f, start, size-start)}, m.parts...)
}

// Read reads the parts in order.
func (m *multiFile) Read(p []byte) (int, error) {
	for len(m.parts) > 0 {
		n, err := m.parts[0].Read(p)
		if errors.Is(err, io.EOF) {
			m.parts = m.parts[1:]
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.EOF
}

// Close closes the files.
func (m *multiFile) Close() error {
	var errs []error
	for _, f := range m.files {
		errs = append(errs, f.Close())
	}
	m.files, m.parts = nil, nil
	return errors.Join(errs...)
}

// olderArchives returns the paths of the archives of dir older than cur, a
// file that was current when it was opened, oldest first.
func olderArchives(dir string, cur os.FileInfo) ([]string, error) {
	same := func(name string) bool {
		fi, err := os.Stat(filepath.Join(dir, name))
		return err == nil && os.SameFile(fi, cur)
	}
	names, err := Archives(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if fi, err := os.Stat(filepath.Join(dir, CurrentName)); err == nil && os.SameFile(fi, cur) {
		// Still current after the listing: every archive listed is older,
		// but for cur itself when a rotation was under way (it is then
		// the newest).
		if len(names) > 0 && same(names[len(names)-1]) {
			names = names[:len(names)-1]
		}
	} else {
		// Archived meanwhile, under a name that a listing made during the
		// rename may miss: list again, and keep what is older than it.
		if names, err = Archives(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		i := len(names) - 1
		for i >= 0 && !same(names[i]) {
			i--
		}
		names = names[:max(i, 0)] // none when cur was pruned meanwhile
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
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
	return lastLinesOf(f, fi.Size(), n)
}

// lastLinesOf returns the last up to n lines of the first size bytes of f
// and how many it found.
func lastLinesOf(f *os.File, size int64, n int) ([]byte, int, error) {
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
