package logforward

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/corralhq/corral/supervisor/logfile"
)

// mark is a point in one stream's files: the position after a line and
// that line's sequence number.
type mark struct {
	pos logfile.Position
	seq uint64
	set bool // false: the start of the oldest file, seq 0
}

// posMagic starts every position file.
const posMagic = "corral-logforward-pos 1"

// posPath returns the position file of a stream.
func posPath(stateDir, service, stream string) string {
	return filepath.Join(stateDir, service+"."+stream+".pos")
}

// loadMark reads a position file; a missing file is the zero mark.
func loadMark(path string) (mark, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return mark{}, nil
	}
	if err != nil {
		return mark{}, err
	}
	var m mark
	var name string
	p := &m.pos
	_, err = fmt.Sscanf(strings.TrimPrefix(string(b), posMagic), " dev=%d ino=%d off=%d fp=%d fplen=%d seq=%d name=%s",
		&p.File.Dev, &p.File.Ino, &p.Offset, &p.Fingerprint, &p.FingerprintLen, &m.seq, &name)
	if err != nil || !strings.HasPrefix(string(b), posMagic) {
		return mark{}, fmt.Errorf("reading %s: bad position file", path)
	}
	if name != "-" {
		p.Name = name
	}
	m.set = true
	return m, nil
}

// saveMark writes a position file: to a temporary file, fsync'd, renamed
// over the old one, so a crash leaves the old or the new position whole.
func saveMark(path string, m mark) error {
	name := m.pos.Name
	if name == "" {
		name = "-"
	}
	p := m.pos
	s := fmt.Sprintf("%s dev=%d ino=%d off=%d fp=%d fplen=%d seq=%d name=%s\n", posMagic,
		p.File.Dev, p.File.Ino, p.Offset, p.Fingerprint, p.FingerprintLen, m.seq, name)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
