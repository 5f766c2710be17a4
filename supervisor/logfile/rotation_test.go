package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/corralhq/corral/supervisor/output"
)

// TestRotationNeverHidesCurrent rotates current at least 1,000 times under
// a steady flow of lines while readers open current by name and tail it,
// as supervisorctl tail does: current is there at every open, and every
// tail is whole consecutive lines, none twice, none skipped.
func TestRotationNeverHidesCurrent(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, MaxSize: 300, Keep: 1000, Logger: quietLogger()}, "web")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cur := CurrentPath(dir, "web", output.Stdout)
	const rotations = 1000

	l := output.Line{Service: "web", Stream: output.Stdout, Text: []byte("line 00000000")}
	s.WriteLine(&l)
	s.Flush() // current exists from here on

	var done atomic.Bool
	var opens, tails, missing atomic.Int64
	var mu sync.Mutex
	var bad []string
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(bad) < 10 {
			bad = append(bad, fmt.Sprintf(format, args...))
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // opens current by name
		defer wg.Done()
		for !done.Load() {
			f, err := os.Open(cur)
			if err != nil {
				missing.Add(1)
				report("open: %v", err)
				continue
			}
			f.Close()
			opens.Add(1)
		}
	}()
	go func() { // tails the last 6 lines, or the last 60 bytes
		defer wg.Done()
		for i := 0; !done.Load(); i++ {
			var b []byte
			var err error
			if i%2 == 0 {
				b, err = Tail(cur, 6)
			} else {
				b, err = tailBytes(cur, 60)
				// Whole lines from the first newline on.
				if i := bytes.IndexByte(b, '\n'); err == nil && i >= 0 {
					b = b[i+1:]
				}
			}
			if err != nil {
				missing.Add(1)
				report("tail: %v", err)
				continue
			}
			tails.Add(1)
			if msg := consecutive(string(b)); msg != "" {
				report("tail %q: %s", b, msg)
			}
		}
	}()

	for i := 1; s.Stats().Rotations < rotations || opens.Load() < rotations || tails.Load() < rotations; i++ {
		l.Text = fmt.Appendf(l.Text[:0], "line %08d", i)
		s.WriteLine(&l)
		if i%4 == 0 {
			s.Flush()
		}
	}
	done.Store(true)
	wg.Wait()
	st := s.Stats()
	t.Logf("%d rotations, %d opens and %d tails of current", st.Rotations, opens.Load(), tails.Load())
	if missing.Load() != 0 || len(bad) > 0 {
		t.Errorf("%d failed opens or tails; first problems:\n%s", missing.Load(), strings.Join(bad, "\n"))
	}
	if st.DroppedLines != 0 || st.WriteErrors != 0 {
		t.Errorf("stats %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, "web", nextName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left behind: %v", nextName, err)
	}
}

// tailBytes reads what TailBytes gives.
func tailBytes(path string, n int64) ([]byte, error) {
	rd, err := TailBytes(path, n)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// consecutive says what is wrong with text unless it is whole lines
// "line N" with N going up by one.
func consecutive(text string) string {
	if !strings.HasSuffix(text, "\n") {
		return "not whole lines"
	}
	prev := -1
	for _, ln := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		n, err := strconv.Atoi(strings.TrimPrefix(ln, "line "))
		if err != nil {
			return fmt.Sprintf("bad line %q", ln)
		}
		if prev >= 0 && n != prev+1 {
			return fmt.Sprintf("%d after %d", n, prev)
		}
		prev = n
	}
	return ""
}

// TestOpenFinishesInterruptedRotation: a current that is also the newest
// archive (corral stopped between the link and the rename) is left to the
// archive, which is not written to again.
func TestOpenFinishesInterruptedRotation(t *testing.T) {
	dir := t.TempDir()
	sdir := StreamDir(dir, "web", output.Stdout)
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(sdir, CurrentName)
	if err := os.WriteFile(cur, []byte("old 1\nold 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	arch := filepath.Join(sdir, "@400000006000000000000000.s")
	if err := os.Link(cur, arch); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Dir: dir, Logger: quietLogger()}, "web")
	if err != nil {
		t.Fatal(err)
	}
	writeLines(s, "web", output.Stdout, 1, 2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(arch); string(b) != "old 1\nold 2\n" {
		t.Errorf("archive = %q, want the old lines only", b)
	}
	if b, _ := os.ReadFile(cur); string(b) != "web stdout line 000001\nweb stdout line 000002\n" {
		t.Errorf("current = %q, want the new lines only", b)
	}
	if b, err := Tail(cur, 3); err != nil || string(b) != "old 2\nweb stdout line 000001\nweb stdout line 000002\n" {
		t.Errorf("tail = %q, %v", b, err)
	}
}

// TestTailReadsCurrentOnceDuringRotation: while current and the newest
// archive are one file (between the link and the rename), Tail reads it
// once.
func TestTailReadsCurrentOnceDuringRotation(t *testing.T) {
	sdir := t.TempDir()
	older := filepath.Join(sdir, "@400000006000000000000000.s")
	if err := os.WriteFile(older, []byte("line 1\nline 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(sdir, CurrentName)
	if err := os.WriteFile(cur, []byte("line 3\nline 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(cur, filepath.Join(sdir, "@400000006000000100000000.s")); err != nil {
		t.Fatal(err)
	}
	b, err := Tail(cur, 4)
	if err != nil || string(b) != "line 1\nline 2\nline 3\nline 4\n" {
		t.Errorf("tail = %q, %v", b, err)
	}
	b, err = tailBytes(cur, 20)
	if err != nil || string(b) != "ine 2\nline 3\nline 4\n" {
		t.Errorf("last 20 bytes = %q, %v", b, err)
	}
	b, err = tailBytes(cur, 1000)
	if err != nil || string(b) != "line 1\nline 2\nline 3\nline 4\n" {
		t.Errorf("last 1000 bytes = %q, %v", b, err)
	}
	r, _, err := OpenReader(sdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if lag := r.Lag(); lag != int64(len("line 1\nline 2\nline 3\nline 4\n")) {
		t.Errorf("lag = %d, want each file counted once", lag)
	}
}
