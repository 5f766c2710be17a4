package logfile

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corralhq/corral/supervisor/output"
	"github.com/corralhq/corral/test/testutil"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func writeLines(s *Sink, svc string, st output.Stream, from, to int) {
	l := output.Line{Service: svc, Stream: st}
	for i := from; i <= to; i++ {
		l.Text = fmt.Appendf(l.Text[:0], "%s %s line %06d", svc, st, i)
		l.Time = time.Now()
		s.WriteLine(&l)
	}
}

// readAll returns all lines of a stream dir, oldest archive first.
func readAll(t *testing.T, dir string) []string {
	t.Helper()
	names, err := Archives(dir)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, n := range append(names, CurrentName) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return strings.Split(strings.TrimSuffix(string(all), "\n"), "\n")
}

func TestRotationKeepsEveryLineInOrder(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, MaxSize: 4096, Keep: 1000, Logger: quietLogger()}, "web")
	if err != nil {
		t.Fatal(err)
	}
	writeLines(s, "web", output.Stdout, 1, 2000)
	writeLines(s, "web", output.Stderr, 1, 100)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	out := readAll(t, StreamDir(dir, "web", output.Stdout))
	if len(out) != 2000 {
		t.Fatalf("got %d stdout lines, want 2000", len(out))
	}
	for i, l := range out {
		if want := fmt.Sprintf("web stdout line %06d", i+1); l != want {
			t.Fatalf("line %d = %q, want %q", i, l, want)
		}
	}
	names, _ := Archives(StreamDir(dir, "web", output.Stdout))
	if len(names) < 8 {
		t.Fatalf("got %d archives, want >= 8", len(names))
	}
	for _, n := range append(names, CurrentName) {
		fi, err := os.Stat(filepath.Join(StreamDir(dir, "web", output.Stdout), n))
		if err != nil || fi.Size() > 4096 {
			t.Fatalf("%s: size %v, err %v: want <= MaxSize", n, fi.Size(), err)
		}
	}
	errLines := readAll(t, StreamDir(dir, "web", output.Stderr))
	if len(errLines) != 100 || errLines[99] != "web stderr line 000100" {
		t.Fatalf("stderr: %d lines, last %q", len(errLines), errLines[len(errLines)-1])
	}
	if st := s.Stats(); st.Lines != 2100 || st.DroppedLines != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestKeepPrunesOldest(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(Options{Dir: dir, MaxSize: 1000, Keep: 3, Logger: quietLogger()}, "a")
	writeLines(s, "a", output.Stdout, 1, 1000)
	s.Close()
	sd := StreamDir(dir, "a", output.Stdout)
	names, _ := Archives(sd)
	if len(names) != 3 {
		t.Fatalf("archives %v, want 3", names)
	}
	out := readAll(t, sd)
	if out[len(out)-1] != "a stdout line 001000" {
		t.Fatalf("last line %q", out[len(out)-1])
	}
	// Tail crosses into archives.
	b, err := Tail(CurrentPath(dir, "a", output.Stdout), 50)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 50 || lines[0] != "a stdout line 000951" || lines[49] != "a stdout line 001000" {
		t.Fatalf("tail: %d lines, first %q last %q", len(lines), lines[0], lines[len(lines)-1])
	}
}

func TestTimestamps(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(Options{Dir: dir, Timestamps: true, Logger: quietLogger()}, "ts")
	when := time.Date(2026, 11, 24, 21, 3, 4, 5006, time.UTC)
	s.WriteLine(&output.Line{Stream: output.Stderr, Time: when, Text: []byte("hello")})
	s.Close()
	b, _ := os.ReadFile(CurrentPath(dir, "ts", output.Stderr))
	if want := "2026-11-24T21:03:04.000005006Z hello\n"; string(b) != want {
		t.Fatalf("got %q, want %q", b, want)
	}
	got, rest, ok := SplitTimestamp(bytes.TrimSuffix(b, []byte("\n")))
	if !ok || !got.Equal(when) || string(rest) != "hello" {
		t.Fatalf("SplitTimestamp = %v %q %v", got, rest, ok)
	}
	if _, _, ok := SplitTimestamp([]byte("2026-11-24 not a time at all, really")); ok {
		t.Fatal("SplitTimestamp accepted a non-timestamp")
	}
}

func TestArchiveNamesSortByTime(t *testing.T) {
	a := ArchiveName(time.Unix(1700000000, 999999999))
	b := ArchiveName(time.Unix(1700000001, 0))
	if !(a < b) || !IsArchiveName(a) || IsArchiveName("current") {
		t.Fatalf("%s !< %s", a, b)
	}
	if a != "@400000006553f10a3b9ac9ff.s" {
		t.Fatalf("ArchiveName = %s", a)
	}
}

// TestReaderFollowsRotations reads while a writer rotates fast; every line
// must be read exactly once, in order, and a Position taken mid-way must
// resume at the same line.
func TestReaderFollowsRotations(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(Options{Dir: dir, MaxSize: 2000, Keep: 10000, Logger: quietLogger()}, "r")
	const total = 20000
	go func() {
		for i := 1; i <= total; i += 100 {
			writeLines(s, "r", output.Stdout, i, i+99)
			s.Flush() // rotating every 2000 bytes (with fsync) is slower than this loop
		}
	}()
	defer s.Close()
	sd := StreamDir(dir, "r", output.Stdout)
	var r *Reader
	var err error
	for r == nil {
		r, _, err = OpenReader(sd, nil)
		if err != nil && err != ErrNoFile {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	buf := make([]byte, 3000)
	next := 1
	var mid *Position
	midLine := 0
	deadline := time.Now().Add(30 * time.Second)
	for next <= total && time.Now().Before(deadline) {
		n, err := r.Peek(buf)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.LastIndexByte(buf[:n], '\n')
		if i < 0 {
			rot, err := r.Rotated()
			if err != nil {
				t.Fatal(err)
			}
			if rot {
				if n, _ := r.Peek(buf); n > 0 {
					continue
				}
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		for _, l := range strings.Split(string(buf[:i]), "\n") {
			if want := fmt.Sprintf("r stdout line %06d", next); l != want {
				t.Fatalf("read %q, want %q (sink %+v)", l, want, s.Stats())
			}
			next++
		}
		r.Advance(i + 1)
		if mid == nil && next > total/2 {
			p, err := r.Position()
			if err != nil {
				t.Fatal(err)
			}
			mid, midLine = &p, next
		}
	}
	if next != total+1 {
		t.Fatalf("read up to line %d of %d", next-1, total)
	}
	if st := s.Stats(); st.DroppedLines != 0 {
		t.Fatalf("the sink dropped %d lines", st.DroppedLines)
	}
	r2, gap, err := OpenReader(sd, mid)
	if err != nil || gap {
		t.Fatalf("reopen: gap %v err %v", gap, err)
	}
	n, _ := r2.Peek(buf)
	if n == 0 { // the position was at the end of a file
		if moved, err := r2.Next(); !moved || err != nil {
			t.Fatalf("Next after resume: %v %v", moved, err)
		}
		n, _ = r2.Peek(buf)
	}
	if want := fmt.Sprintf("r stdout line %06d\n", midLine); !bytes.HasPrefix(buf[:n], []byte(want)) {
		t.Fatalf("resumed at %q, want %q", buf[:min(n, 30)], want)
	}
}

func TestFollowAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(Options{Dir: dir, MaxSize: 500, Keep: 100, Logger: quietLogger()}, "f")
	defer s.Close()
	writeLines(s, "f", output.Stdout, 1, 1)
	s.Flush()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, CurrentPath(dir, "f", output.Stdout), 0, func(b []byte) {
			mu.Lock()
			got.Write(b)
			mu.Unlock()
		})
	}()
	// Follow starts at offset 0 of the file current when it opens: wait
	// until it has line 1 before rotating.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		c := got.Len()
		mu.Unlock()
		if c > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	writeLines(s, "f", output.Stdout, 2, 200)
	s.Flush()
	for time.Now().Before(deadline) {
		mu.Lock()
		c := bytes.Count(got.Bytes(), []byte{'\n'})
		mu.Unlock()
		if c >= 200 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	lines := strings.Split(strings.TrimSuffix(got.String(), "\n"), "\n")
	if len(lines) != 200 || lines[199] != "f stdout line 000200" {
		t.Fatalf("followed %d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

// TestFullDiskDoesNotBlock fills a small tmpfs: WriteLine must keep
// returning, errors are counted, and writing resumes once space is back.
func TestFullDiskDoesNotBlock(t *testing.T) {
	testutil.Require(t, testutil.Root)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "logfiletest", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs (needs root, util-linux mount): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	s, _ := Open(Options{Dir: dir, MaxSize: 1 << 20, Keep: 1, BufferSize: 8192, Logger: quietLogger()}, "full")
	start := time.Now()
	for i := 0; i < 20; i++ {
		writeLines(s, "full", output.Stdout, i*1000+1, i*1000+1000)
		s.Flush()
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("writing took %v", d)
	}
	st := s.Stats()
	if st.WriteErrors == 0 || st.DroppedLines == 0 {
		t.Fatalf("no errors counted on a full disk: %+v", st)
	}
	// Free space: grow the tmpfs and truncate current.
	if out, err := exec.Command("mount", "-o", "remount,size=4m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	writeLines(s, "full", output.Stdout, 999001, 999001)
	s.Flush()
	b, err := Tail(CurrentPath(dir, "full", output.Stdout), 1)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "full stdout line 999001\n" {
		t.Fatalf("after recovery, last line %q", b)
	}
	// Every line in the file is whole.
	for _, l := range readAll(t, StreamDir(dir, "full", output.Stdout)) {
		if !strings.HasPrefix(l, "full stdout line ") || len(l) != len("full stdout line 000001") {
			t.Fatalf("cut line %q", l)
		}
	}
	s.Close()
}

func BenchmarkWriteLine(b *testing.B) {
	for _, ts := range []bool{false, true} {
		b.Run(fmt.Sprintf("timestamps=%v", ts), func(b *testing.B) {
			dir := b.TempDir()
			s, _ := Open(Options{Dir: dir, Timestamps: ts, MaxSize: 64 << 20, Keep: 2, BufferSize: 4 << 20, Logger: quietLogger()}, "bench")
			l := output.Line{Stream: output.Stdout, Text: bytes.Repeat([]byte("x"), 200), Time: time.Now()}
			b.SetBytes(int64(len(l.Text) + 1))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.WriteLine(&l)
			}
			s.Flush()
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(float64(st.DroppedLines)/float64(b.N), "dropped/op")
			s.Close()
		})
	}
}

// BenchmarkWriteLineToDisk measures lines reaching the file: it waits for
// the writer every 1000 lines, so nothing is dropped.
func BenchmarkWriteLineToDisk(b *testing.B) {
	dir := b.TempDir()
	s, _ := Open(Options{Dir: dir, Timestamps: true, Keep: 2, Logger: quietLogger()}, "bench")
	l := output.Line{Stream: output.Stdout, Text: bytes.Repeat([]byte("x"), 200), Time: time.Now()}
	b.SetBytes(int64(len(l.Text) + 1 + TimestampLen))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.WriteLine(&l)
		if i%1000 == 999 {
			s.Flush()
		}
	}
	s.Flush()
	b.StopTimer()
	if st := s.Stats(); st.DroppedLines != 0 {
		b.Fatalf("dropped %d lines", st.DroppedLines)
	}
	s.Close()
}

// TestReaderInodeReused resumes from a position whose inode now belongs to
// another file (told by the fingerprint): the reader starts that file from
// its beginning and reports a gap, instead of skipping it.
func TestReaderInodeReused(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(Options{Dir: dir, Logger: quietLogger()}, "x")
	writeLines(s, "x", output.Stdout, 1, 10)
	s.Close()
	sd := StreamDir(dir, "x", output.Stdout)
	r, _, err := OpenReader(sd, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Advance(50)
	pos, _ := r.Position()
	r.Close()
	pos.Fingerprint++ // as if the inode had been reused by a new file
	r, gap, err := OpenReader(sd, &pos)
	if err != nil || !gap || r.Offset() != 0 || r.Name() != "" {
		t.Fatalf("gap %v err %v offset %d name %q", gap, err, r.Offset(), r.Name())
	}
	buf := make([]byte, 100)
	n, _ := r.Peek(buf)
	if !bytes.HasPrefix(buf[:n], []byte("x stdout line 000001\n")) {
		t.Fatalf("read %q", buf[:n])
	}
}

func TestOptionsWith(t *testing.T) {
	base := Options{Dir: "/x", MaxSize: 5, Keep: 7}
	o := base.With(100, 3, true)
	if o.MaxSize != 100 || o.Keep != 3 || !o.Timestamps || o.Dir != "/x" {
		t.Fatalf("%+v", o)
	}
	if o := base.With(0, 0, false).withDefaults(); o.Keep != 0 || o.MaxSize != 5 {
		t.Fatalf("keep 0: %+v", o)
	}
}
