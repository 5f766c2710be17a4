package services

import (
	"strconv"
	"strings"
)

// keyLines maps key paths of a TOML document to the line that defines them.
// BurntSushi/toml keeps key positions private, so this small scanner finds
// them: table headers ([a], [[a]]), dotted and quoted keys, `key = value`
// lines and keys inside inline tables, skipping strings (multi-line too),
// arrays and comments. It is only used on documents the TOML parser has
// accepted, and gives up quietly (never panics) on anything else.
type keyLines map[string]int

// pathKey joins a key path into a map key.
func pathKey(path []string) string { return strings.Join(path, "\x1f") }

// line returns the line of path, or of its nearest ancestor that has one, or 0.
func (kl keyLines) line(path []string) int {
	for n := len(path); n > 0; n-- {
		if l, ok := kl[pathKey(path[:n])]; ok {
			return l
		}
	}
	return 0
}

// record notes path (and each of its prefixes not yet seen) at line. Every
// recorded path has its prefixes recorded too, so the walk from the longest
// prefix stops at the first one already known: a key in a known table costs
// one lookup, not one per level.
func (kl keyLines) record(path []string, line int) {
	for n := len(path); n > 0; n-- {
		k := pathKey(path[:n])
		if _, ok := kl[k]; ok {
			return
		}
		kl[k] = line
	}
}

// scanKeyLines scans data and returns its key lines.
func scanKeyLines(data []byte) keyLines {
	s := &lineScanner{src: string(data), line: 1, out: keyLines{}}
	s.document()
	return s.out
}

// lineScanner is the state of scanKeyLines.
type lineScanner struct {
	src  string
	pos  int
	line int
	out  keyLines
	bad  bool // set on input it does not understand; scanning stops
}

func (s *lineScanner) eof() bool { return s.bad || s.pos >= len(s.src) }

func (s *lineScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.pos]
}

func (s *lineScanner) next() byte {
	c := s.src[s.pos]
	s.pos++
	if c == '\n' {
		s.line++
	}
	return c
}

// skipSpace skips blanks; with newlines, also newlines and comments.
func (s *lineScanner) skipSpace(newlines bool) {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			s.next()
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.next()
			}
		case c == '\n' && newlines:
			s.next()
		default:
			return
		}
	}
}

func (s *lineScanner) document() {
	var table []string
	for {
		s.skipSpace(true)
		if s.eof() {
			return
		}
		if s.peek() == '[' {
			s.next()
			array := s.peek() == '['
			if array {
				s.next()
			}
			line := s.line
			key := s.key()
			if s.eof() || s.peek() != ']' {
				s.bad = true
				return
			}
			s.next()
			if array {
				if s.peek() != ']' {
					s.bad = true
					return
				}
				s.next()
			}
			table = key
			s.out.record(key, line)
			continue
		}
		if !s.keyValue(table) {
			return
		}
	}
}

// keyValue scans `key = value` under prefix and records the key's line.
func (s *lineScanner) keyValue(prefix []string) bool {
	line := s.line
	key := s.key()
	if len(key) == 0 || s.eof() || s.peek() != '=' {
		s.bad = true
		return false
	}
	s.next()
	path := append(append([]string{}, prefix...), key...)
	s.out.record(path, line)
	s.skipSpace(false)
	s.value(path)
	return !s.bad
}

// key scans a dotted key.
func (s *lineScanner) key() []string {
	var parts []string
	for {
		s.skipSpace(false)
		if s.eof() {
			s.bad = true
			return nil
		}
		switch c := s.peek(); {
		case c == '"':
			raw := s.basicString()
			if v, err := strconv.Unquote(raw); err == nil {
				parts = append(parts, v)
			} else if len(raw) >= 2 {
				parts = append(parts, raw[1:len(raw)-1])
			}
		case c == '\'':
			raw := s.literalString()
			if len(raw) >= 2 {
				parts = append(parts, raw[1:len(raw)-1])
			}
		case isBare(c):
			start := s.pos
			for !s.eof() && isBare(s.peek()) {
				s.next()
			}
			parts = append(parts, s.src[start:s.pos])
		default:
			s.bad = true
			return nil
		}
		s.skipSpace(false)
		if s.eof() || s.peek() != '.' {
			return parts
		}
		s.next()
	}
}

func isBare(c byte) bool {
	return c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// value skips one value, recording keys of inline tables under path.
func (s *lineScanner) value(path []string) {
	if s.eof() {
		s.bad = true
		return
	}
	switch s.peek() {
	case '"':
		if strings.HasPrefix(s.src[s.pos:], `"""`) {
			s.multiline(`"""`, true)
		} else {
			s.basicString()
		}
	case '\'':
		if strings.HasPrefix(s.src[s.pos:], `'''`) {
			s.multiline(`'''`, false)
		} else {
			s.literalString()
		}
	case '[':
		s.next()
		for {
			s.skipSpace(true)
			if s.eof() {
				s.bad = true
				return
			}
			if s.peek() == ']' {
				s.next()
				return
			}
			s.value(path)
			s.skipSpace(true)
			if s.eof() {
				s.bad = true
				return
			}
			if s.peek() == ',' {
				s.next()
			}
		}
	case '{':
		s.next()
		for {
			s.skipSpace(true)
			if s.eof() {
				s.bad = true
				return
			}
			if s.peek() == '}' {
				s.next()
				return
			}
			if !s.keyValue(path) {
				return
			}
			s.skipSpace(true)
			if s.peek() == ',' {
				s.next()
			}
		}
	default:
		start := s.pos
		for !s.eof() {
			c := s.peek()
			if c == ',' || c == ']' || c == '}' || c == '#' || c == '\n' || c == '\r' {
				break
			}
			if c == ' ' || c == '\t' {
				// A date-time may hold one space: "1979-05-27 07:32:00".
				if s.pos-start == 10 && s.src[start+4] == '-' && s.pos+1 < len(s.src) && s.src[s.pos+1] >= '0' && s.src[s.pos+1] <= '9' {
					s.next()
					continue
				}
				break
			}
			s.next()
		}
		if s.pos == start {
			s.bad = true
		}
	}
}

// basicString scans "..." with escapes and returns it with its quotes.
func (s *lineScanner) basicString() string {
	start := s.pos
	s.next()
	for !s.eof() {
		switch s.next() {
		case '\\':
			if !s.eof() {
				s.next()
			}
		case '"':
			return s.src[start:s.pos]
		case '\n':
			s.bad = true
			return ""
		}
	}
	s.bad = true
	return ""
}

// literalString scans '...' and returns it with its quotes.
func (s *lineScanner) literalString() string {
	start := s.pos
	s.next()
	for !s.eof() {
		switch s.next() {
		case '\'':
			return s.src[start:s.pos]
		case '\n':
			s.bad = true
			return ""
		}
	}
	s.bad = true
	return ""
}

// multiline skips a multi-line string opened by delim ("""/”').
func (s *lineScanner) multiline(delim string, escapes bool) {
	for range 3 {
		s.next()
	}
	for !s.eof() {
		if escapes && s.peek() == '\\' {
			s.next()
			if !s.eof() {
				s.next()
			}
			continue
		}
		if strings.HasPrefix(s.src[s.pos:], delim) {
			for range 3 {
				s.next()
			}
			// Up to two more quotes may belong to the content.
			for i := 0; i < 2 && !s.eof() && s.peek() == delim[0]; i++ {
				s.next()
			}
			return
		}
		s.next()
	}
	s.bad = true
}
