package s6

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corralhq/corral/control"
)

// maxSmallFile bounds the files read whole (type, notification-fd, up...).
const maxSmallFile = 1 << 20

// readSmall reads a small file; ok is false when it does not exist.
func readSmall(path string) (data string, ok bool, err error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if st.IsDir() {
		return "", true, errors.New("is a directory, want a file")
	}
	if st.Size() > maxSmallFile {
		return "", true, fmt.Errorf("larger than %d bytes", maxSmallFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", true, err
	}
	return string(b), true, nil
}

// exists reports whether path exists (following symlinks).
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// isDir reports whether path is a directory (following symlinks).
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// readNames reads a list of service names, as s6-rc-compile does: the
// entries of dir.d (dotfiles ignored), or else the lines of the file list
// (leading blanks skipped, lines starting with '#' and empty lines
// ignored). ok is false when neither exists.
func readNames(dirD, list string) (names []string, ok bool, err error) {
	if st, err := os.Stat(dirD); err == nil {
		if !st.IsDir() {
			return nil, true, fmt.Errorf("%s: not a directory", dirD)
		}
		ents, err := os.ReadDir(dirD)
		if err != nil {
			return nil, true, err
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") {
				names = append(names, e.Name())
			}
		}
		return names, true, nil
	}
	return readLines(list)
}

// readLines reads a file listing one name per line (leading blanks
// skipped, lines starting with '#' and empty lines ignored); ok is false
// when it does not exist.
func readLines(list string) (names []string, ok bool, err error) {
	data, found, err := readSmall(list)
	if !found || err != nil {
		return nil, found, err
	}
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names = append(names, strings.TrimRight(line, " \t\r"))
	}
	return names, true, nil
}

// readUint reads a file holding a decimal number (trailing newlines and
// blanks allowed); ok is false when it does not exist.
func readUint(path string) (n uint64, ok bool, err error) {
	data, ok, err := readSmall(path)
	if !ok || err != nil {
		return 0, ok, err
	}
	n, err = strconv.ParseUint(strings.TrimSpace(data), 10, 32)
	if err != nil {
		return 0, true, fmt.Errorf("want a decimal number, got %q", strings.TrimSpace(data))
	}
	return n, true, nil
}

// readMillis reads a timeout file (milliseconds).
func readMillis(path string) (time.Duration, bool, error) {
	n, ok, err := readUint(path)
	return time.Duration(n) * time.Millisecond, ok, err
}

// readSignal reads a signal file: a name (SIGTERM, TERM) or a number; 0
// when there is no file.
func readSignal(path string) (syscall.Signal, error) {
	data, ok, err := readSmall(path)
	if !ok || err != nil {
		return 0, err
	}
	s := strings.TrimSpace(data)
	sig, err := control.ParseSignal(s)
	if err != nil {
		return 0, fmt.Errorf("not a signal: %q", s)
	}
	return sig, nil
}

// digestDir hashes the names, modes and contents of the regular files and
// links under dir (supervise/ and event/ excluded: they are runtime state).
func digestDir(dir string) string {
	h := sha256.New()
	var paths []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() && (rel == "supervise" || rel == "event") {
			return filepath.SkipDir
		}
		paths = append(paths, rel)
		return nil
	})
	sort.Strings(paths)
	for _, rel := range paths {
		p := filepath.Join(dir, rel)
		st, err := os.Lstat(p)
		if err != nil {
			continue
		}
		fmt.Fprintf(h, "%s\x00%o\x00", rel, st.Mode())
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			h.Write([]byte(t))
		case st.Mode().IsRegular() && st.Size() <= 64<<20:
			b, _ := os.ReadFile(p)
			h.Write(b)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// firstLine returns s up to its first newline, for messages.
func firstLine(s string) string {
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
