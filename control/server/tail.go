package server

import (
	"errors"
	"io"
	"os"
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
