package logfile

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// FileID identifies a file by device and inode, which survive renames.
type FileID struct {
	Dev, Ino uint64
}

// fingerprintLen is how many leading bytes of a file a Position hashes, to
// tell a file from a later one that reused its inode.
const fingerprintLen = 256

// Position is a place in a stream's files that survives rotations and
// restarts: the file by identity (and by archive name once it has one),
// the byte offset, and a hash of the file's first bytes.
type Position struct {
	// File is the identity of the file.
	File FileID
	// Name is the file's archive name, or "" while it was current.
	Name string
	// Offset is the byte offset in that file.
	Offset int64
	// Fingerprint is the FNV-1a hash of the file's first FingerprintLen bytes.
	Fingerprint uint64
	// FingerprintLen is min(Offset, 256) when the position was taken.
	FingerprintLen int
}

// Reader reads the files of one stream directory in order, from the oldest
// archive to current, following rotations. It reads with pread and never
// moves by itself: the caller reads with Peek and then Advance.
type Reader struct {
	dir  string
	f    *os.File
	id   FileID
	name string // archive name, "" while not known to be an archive
	off  int64
	fp   uint64
	fpN  int
}

// ErrNoFile is returned by OpenReader when the stream has no file yet.
var ErrNoFile = errors.New("logfile: no log file yet")

// OpenReader opens a Reader on a stream directory (see StreamDir) at pos, or
// at the start of the oldest file when pos is nil. When pos's file no longer
// exists, the Reader starts at the oldest file newer than it and gap is true
// (lines may have been pruned unread). It returns ErrNoFile when the
// directory has no file yet.
func OpenReader(dir string, pos *Position) (r *Reader, gap bool, err error) {
	r = &Reader{dir: dir}
	if pos != nil {
		ok, err := r.find(pos)
		if err != nil {
			return nil, false, err
		}
		if ok {
			return r, false, nil
		}
		// The file is gone (or its inode was reused by a newer file, which
		// the fingerprint tells): go on with the first file after it. Its
		// identity is forgotten so that a reused inode is not skipped.
		r.id, r.name = FileID{}, pos.Name
		moved, err := r.Next()
		if err != nil {
			return nil, false, err
		}
		if !moved {
			return nil, false, ErrNoFile
		}
		return r, true, nil
	}
	names, err := Archives(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	for _, n := range names {
		if r.open(n, 0) == nil {
			return r, false, nil
		}
	}
	if err := r.open("", 0); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, ErrNoFile
		}
		return nil, false, err
	}
	return r, false, nil
}

// find opens the file pos names, by identity, checking its fingerprint.
func (r *Reader) find(pos *Position) (bool, error) {
	names, err := stableArchives(r.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	try := append([]string{""}, names...)
	if pos.Name != "" {
		try = []string{pos.Name}
	}
	for _, n := range try {
		if err := r.open(n, pos.Offset); err != nil {
			continue
		}
		if r.id == pos.File {
			if fp, fpN, err := r.fingerprint(pos.FingerprintLen); err == nil && fpN == pos.FingerprintLen && fp == pos.Fingerprint {
				return true, nil
			}
		}
		r.f.Close()
		r.f = nil
	}
	return false, nil
}

// open opens an archive (or current when name is "") at off.
func (r *Reader) open(name string, off int64) error {
	path := filepath.Join(r.dir, CurrentName)
	if name != "" {
		path = filepath.Join(r.dir, name)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if r.f != nil {
		r.f.Close()
	}
	r.f, r.id, r.name, r.off, r.fp, r.fpN = f, idOf(fi), name, off, 0, 0
	return nil
}

// fingerprint hashes the first min(n, size) bytes of the open file.
func (r *Reader) fingerprint(n int) (uint64, int, error) {
	var b [fingerprintLen]byte
	if n > fingerprintLen {
		n = fingerprintLen
	}
	got, err := r.f.ReadAt(b[:n], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, err
	}
	h := fnv.New64a()
	h.Write(b[:got])
	return h.Sum64(), got, nil
}

// Peek reads into p from the current offset without advancing. It returns
// 0, nil at the end of the file.
func (r *Reader) Peek(p []byte) (int, error) {
	n, err := r.f.ReadAt(p, r.off)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// Advance moves the offset n bytes forward.
func (r *Reader) Advance(n int) { r.off += int64(n) }

// Offset returns the offset in the current file.
func (r *Reader) Offset() int64 { return r.off }

// Name returns the open file's archive name, or "" while it is (or was last
// known as) current.
func (r *Reader) Name() string { return r.name }

// Position returns the current place, for OpenReader after a restart.
func (r *Reader) Position() (Position, error) {
	want := fingerprintLen
	if r.off < int64(want) {
		want = int(r.off)
	}
	if r.fpN != want {
		fp, n, err := r.fingerprint(want)
		if err != nil {
			return Position{}, fmt.Errorf("logfile: reading %s: %w", r.f.Name(), err)
		}
		r.fp, r.fpN = fp, n
	}
	return Position{File: r.id, Name: r.name, Offset: r.off, Fingerprint: r.fp, FingerprintLen: r.fpN}, nil
}

// Rotated reports whether the open file will not grow any more: it is an
// archive, or current has been renamed away. Once Rotated says true, the
// caller should Peek to the end once more (the last writes may have landed
// after its previous Peek), then call Next.
func (r *Reader) Rotated() (bool, error) {
	if r.name != "" {
		return true, nil
	}
	fi, err := os.Stat(filepath.Join(r.dir, CurrentName))
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return idOf(fi) != r.id, nil
}

// Next moves to the start of the file after the open one: the oldest
// archive newer than it, else current. It reports false when there is none
// yet (current is being recreated): call it again later.
func (r *Reader) Next() (bool, error) {
	for attempt := 0; attempt < 10; attempt++ {
		names, err := stableArchives(r.dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
		if r.name == "" {
			r.name = r.archiveOf(names)
		}
		after := names
		if r.name != "" {
			after = after[:0:0]
			for _, n := range names {
				if n > r.name {
					after = append(after, n)
				}
			}
		}
		prev := r.id
		for _, n := range after {
			if fi, err := os.Stat(filepath.Join(r.dir, n)); err == nil && idOf(fi) == prev {
				continue
			}
			if err := r.open(n, 0); err == nil {
				return true, nil
			}
		}
		fi, err := os.Stat(filepath.Join(r.dir, CurrentName))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return false, nil
			}
			return false, err
		}
		if idOf(fi) == prev {
			return false, nil
		}
		old := r.f
		r.f = nil
		if err := r.open("", 0); err != nil {
			r.f = old
			if errors.Is(err, os.ErrNotExist) {
				return false, nil
			}
			return false, err
		}
		// current may have rotated between the listing and the open: if an
		// archive appeared that is neither the old file nor the new one, it
		// holds lines not read yet and comes first.
		again, err := stableArchives(r.dir)
		if err != nil {
			old.Close()
			return false, err
		}
		if !r.unseen(names, again, prev) {
			old.Close()
			return true, nil
		}
		r.f.Close()
		r.f, r.id, r.name = old, prev, r.archiveOfID(again, prev)
	}
	return false, nil
}

// unseen reports whether again holds an archive not in names that is
// neither prev nor the open file.
func (r *Reader) unseen(names, again []string, prev FileID) bool {
	known := make(map[string]bool, len(names))
	for _, n := range names {
		known[n] = true
	}
	for _, n := range again {
		if known[n] {
			continue
		}
		fi, err := os.Stat(filepath.Join(r.dir, n))
		if err != nil {
			continue
		}
		if id := idOf(fi); id != prev && id != r.id {
			return true
		}
	}
	return false
}

// stableArchives lists a stream directory's archives until two listings in
// a row agree. A listing made while files are renamed in may miss some of
// them while showing later ones (readdir walks a hashed directory); an
// archive never changes once made and archives are made in name order, so
// a listing equal to the one before it holds every archive older than its
// newest.
func stableArchives(dir string) ([]string, error) {
	prev, err := Archives(dir)
	if err != nil {
		return nil, err
	}
	for i := 0; i < 20; i++ {
		cur, err := Archives(dir)
		if err != nil {
			return nil, err
		}
		if slices.Equal(prev, cur) {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

// archiveOf returns the archive name of the open file, or "".
func (r *Reader) archiveOf(names []string) string { return r.archiveOfID(names, r.id) }

func (r *Reader) archiveOfID(names []string, id FileID) string {
	for i := len(names) - 1; i >= 0; i-- {
		if fi, err := os.Stat(filepath.Join(r.dir, names[i])); err == nil && idOf(fi) == id {
			return names[i]
		}
	}
	return ""
}

// Lag returns how many bytes are left to read: the rest of the open file
// and the whole of every newer file.
func (r *Reader) Lag() int64 {
	var lag int64
	if fi, err := r.f.Stat(); err == nil {
		lag = fi.Size() - r.off
	}
	rotated, err := r.Rotated()
	if err != nil || !rotated {
		return lag
	}
	// Each file once: during a rotation the newest archive and current
	// are the same file.
	seen := map[FileID]bool{r.id: true}
	names, _ := stableArchives(r.dir)
	for _, n := range names {
		if n > r.name || r.name == "" {
			if fi, err := os.Stat(filepath.Join(r.dir, n)); err == nil && !seen[idOf(fi)] {
				seen[idOf(fi)] = true
				lag += fi.Size()
			}
		}
	}
	if fi, err := os.Stat(filepath.Join(r.dir, CurrentName)); err == nil && !seen[idOf(fi)] {
		lag += fi.Size()
	}
	return lag
}

// Close closes the open file.
func (r *Reader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
