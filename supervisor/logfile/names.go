package logfile

import (
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/corralhq/corral/supervisor/output"
)

// CurrentName is the name of the file being written in a stream directory.
const CurrentName = "current"

// StreamDir returns the directory holding one stream of a service:
// <dir>/<service> for stdout, <dir>/<service>/stderr for stderr.
func StreamDir(dir, service string, stream output.Stream) string {
	if stream == output.Stderr {
		return filepath.Join(dir, service, "stderr")
	}
	return filepath.Join(dir, service)
}

// CurrentPath returns the path of the file a service's stream is written to.
func CurrentPath(dir, service string, stream output.Stream) string {
	return filepath.Join(StreamDir(dir, service, stream), CurrentName)
}

// ArchiveName returns the archive name for a rotation at t: "@" followed by
// the TAI64N label of t (as daemontools' tai64n: 2^62+10 plus the Unix
// seconds, then nanoseconds, in hex) and ".s". Names sort by time.
func ArchiveName(t time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:8], uint64(1)<<62+10+uint64(t.Unix()))
	binary.BigEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
	return "@" + hex.EncodeToString(b[:]) + ".s"
}

// IsArchiveName reports whether name is an archive's name.
func IsArchiveName(name string) bool {
	if len(name) != 27 || name[0] != '@' || !strings.HasSuffix(name, ".s") {
		return false
	}
	for _, c := range name[1:25] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Archives returns the archive names in a stream directory, oldest first.
func Archives(streamDir string) ([]string, error) {
	d, err := os.Open(streamDir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if IsArchiveName(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}
