package services

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Bounds on one service file, checked in one linear pass before the file is
// decoded: the TOML decoder's work grows faster than the file with nesting
// and dotted keys (a 10 KB file of nested inline tables takes it seconds),
// and a service file needs none of it. A file past a bound is rejected with
// the file, the line and the key where the bound was crossed.
const (
	// MaxFileSize is the largest service file, in bytes.
	MaxFileSize = 1 << 20
	// MaxDepth is the deepest nesting in a file: each part of a table
	// header or of a dotted key, each inline table and each array counts a
	// level ([a.b] then c = [1] is 4 levels deep at the 1).
	MaxDepth = 32
	// MaxKeys is the most keys in a file, counting each part of a dotted
	// key, each key of an inline table and each table header.
	MaxKeys = 4096
	// MaxListLen is the most elements in one array, and the most [[tables]]
	// of one name.
	MaxListLen = 4096
	// MaxContainers is the most arrays and inline tables in a file.
	MaxContainers = 4096
	// MaxKeyLen is the longest key (each part of a dotted key), in bytes.
	MaxKeyLen = 256
)

// ErrLimit is what the error of a file past one of the bounds above wraps:
// errors.Is(err, ErrLimit) tells such a file from a merely invalid one.
var ErrLimit = errors.New("service file past a limit")

// readBounded reads a file, at most MaxFileSize+1 bytes of it (one more
// than allowed, so that checkLimits sees a file that grew past the bound
// after it was stat'ed).
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}

// fileTooBig is the error of a file of size bytes, past MaxFileSize.
func fileTooBig(size int64) *limitError {
	return &limitError{msg: fmt.Sprintf("the file is %d bytes, more than the limit of %d", size, MaxFileSize)}
}

// limitError is a bound crossed at a line and key (a keyString path).
type limitError struct {
	line int
	path []string
	msg  string
}

// Error is the message, which names the bound.
func (e *limitError) Error() string { return e.msg }

// Is makes a limitError match ErrLimit.
func (e *limitError) Is(target error) bool { return target == ErrLimit }

// asError returns e as an *Error of file (for service).
func (e *limitError) asError(file, service string) *Error {
	return &Error{File: file, Line: e.line, Key: keyString(e.path), Service: service, Err: e}
}

// checkLimits reports the first bound data crosses, or nil. It is a
// permissive TOML tokenizer: it only tracks strings, comments, keys and
// brackets, never gives up on input it does not understand (the decoder
// reports syntax errors) and over-counts rather than under-counts. Its
// work and memory are linear in len(data), whatever data holds.
func checkLimits(data []byte) *limitError {
	if len(data) > MaxFileSize {
		return fileTooBig(int64(len(data)))
	}
	s := &limitScanner{lineScanner: lineScanner{src: string(data), line: 1}, arrays: map[string]int{}}
	s.document()
	return s.err
}

// limitScanner is the state of checkLimits. It borrows lineScanner's
// lexing of strings, comments and blanks, with bad never set: where the
// lexer would give up, the scanner skips a byte and goes on.
type limitScanner struct {
	lineScanner
	keys, containers int
	// arrays counts the [[tables]] of each name (a pathKey).
	arrays map[string]int
	// deepest and longest are the deepest level and the longest array
	// seen, for tests.
	deepest, longest int
	err              *limitError
}

// level notes a key or element at level depth, and reports whether it is
// within MaxDepth.
func (s *limitScanner) level(depth int) bool {
	s.deepest = max(s.deepest, depth)
	return depth <= MaxDepth
}

// length notes an array of n elements (so far), and reports whether it is
// within MaxListLen.
func (s *limitScanner) length(n int) bool {
	s.longest = max(s.longest, n)
	return n <= MaxListLen
}

// fail records the first bound crossed.
func (s *limitScanner) fail(line int, path []string, format string, args ...any) {
	if s.err == nil {
		s.err = &limitError{line: line, path: path, msg: fmt.Sprintf(format, args...)}
	}
}

// done reports whether scanning is over: the end, or a bound crossed.
func (s *limitScanner) done() bool { return s.err != nil || s.pos >= len(s.src) }

// document scans table headers and key/value lines.
func (s *limitScanner) document() {
	if strings.HasPrefix(s.src, "\ufeff") {
		s.pos = len("\ufeff")
	}
	var table []string
	tableDepth := 0
	for !s.done() {
		s.skipSpace(true)
		if s.done() {
			return
		}
		if s.peek() != '[' {
			s.keyValue(table, tableDepth)
			s.restOfLine()
			continue
		}
		line := s.line
		s.next()
		array := s.peek() == '['
		if array {
			s.next()
		}
		parts := s.key(nil, 0, line)
		if s.done() {
			return
		}
		if array {
			k := pathKey(parts)
			if s.arrays[k] > 0 {
				s.keys -= len(parts) // one more element, no new key
			}
			s.arrays[k]++
			if !s.length(s.arrays[k]) {
				s.fail(line, parts, "more than %d [[%s]] tables, the limit", MaxListLen, keyString(parts))
				return
			}
		}
		// Each array of tables on the way is a level more: [[a]] holds
		// a list of tables, and the keys under it are two levels down.
		table, tableDepth = parts, len(parts)
		for n := 1; n <= len(parts); n++ {
			if s.arrays[pathKey(parts[:n])] > 0 {
				tableDepth++
			}
		}
		if !s.level(tableDepth) {
			s.fail(line, parts, depthMsg, MaxDepth)
			return
		}
		s.restOfLine()
	}
}

// depthMsg is the message of a file nested too deep.
const depthMsg = "nested more than %d levels deep (tables, dotted keys, inline tables and arrays each count a level)"

// restOfLine skips what is left of a line after a header or a value: in a
// file the decoder accepts, blanks and a comment.
func (s *limitScanner) restOfLine() {
	for !s.done() && s.peek() != '\n' {
		s.next()
	}
}

// key scans a dotted key under prefix, whose depth is depth, counting its
// parts as keys, and returns the full path.
func (s *limitScanner) key(prefix []string, depth, line int) []string {
	path := prefix[:len(prefix):len(prefix)]
	for !s.done() {
		s.skipSpace(false)
		if s.done() {
			break
		}
		var part string
		switch c := s.peek(); {
		case c == '"':
			raw := s.basicString()
			s.bad = false
			if v, err := strconv.Unquote(raw); err == nil {
				part = v
			} else if len(raw) >= 2 {
				part = raw[1 : len(raw)-1]
			}
		case c == '\'':
			raw := s.literalString()
			s.bad = false
			if len(raw) >= 2 {
				part = raw[1 : len(raw)-1]
			}
		case isBare(c):
			start := s.pos
			for !s.done() && isBare(s.peek()) {
				s.next()
			}
			part = s.src[start:s.pos]
		default:
			// Not a key: let the decoder say so.
			s.next()
			return path
		}
		path = append(path, shorten(part))
		depth++
		s.keys++
		switch {
		case len(part) > MaxKeyLen:
			s.fail(line, path, "key of %d bytes, longer than the limit of %d", len(part), MaxKeyLen)
		case !s.level(depth):
			s.fail(line, path, depthMsg, MaxDepth)
		case s.keys > MaxKeys:
			s.fail(line, path, "more than %d keys in the file, the limit", MaxKeys)
		}
		s.skipSpace(false)
		if s.done() || s.peek() != '.' {
			break
		}
		s.next()
	}
	return path
}

// shorten cuts a key part for error messages.
func shorten(part string) string {
	if len(part) > 40 {
		return part[:40] + "..."
	}
	return part
}

// frame is an open array or inline table.
type frame struct {
	inline bool     // an inline table, else an array
	elem   bool     // an element of the array below it on the stack
	path   []string // its key path, unless elem (then see pathOf)
	depth  int      // its own level: its elements or keys are one deeper
	n      int      // elements seen so far (arrays)
	line   int      // where it opened
}

// pathOf returns the key path of the container at the top of stack, array
// indices as "[i]". It is only needed for errors and inline tables' keys.
func pathOf(stack []frame) []string {
	j := len(stack) - 1
	for j > 0 && stack[j].elem {
		j--
	}
	path := append([]string(nil), stack[j].path...)
	for k := j + 1; k < len(stack); k++ {
		path = append(path, "["+strconv.Itoa(stack[k-1].n-1)+"]")
	}
	return path
}

// keyValue scans `key = value` under prefix (at depth depth), with the
// values nested in arrays and inline tables, without recursion.
func (s *limitScanner) keyValue(prefix []string, depth int) {
	path := s.key(prefix, depth, s.line)
	if s.done() {
		return
	}
	s.skipSpace(false)
	if s.done() || s.peek() != '=' {
		return
	}
	s.next()
	depth += len(path) - len(prefix)
	elem := false
	var stack []frame
	for !s.done() {
		// A value at level depth: at path, or the next element of the
		// array at the top of the stack when elem.
		s.skipSpace(len(stack) > 0)
		if s.done() {
			return
		}
		switch c := s.peek(); c {
		case '[', '{':
			s.containers++
			f := frame{inline: c == '{', elem: elem, path: path, depth: depth, line: s.line}
			stack = append(stack, f)
			if elem && f.inline {
				// Its keys need its path.
				stack[len(stack)-1].path, stack[len(stack)-1].elem = pathOf(stack), false
			}
			if s.containers > MaxContainers {
				s.fail(s.line, pathOf(stack), "more than %d arrays and inline tables in the file, the limit", MaxContainers)
				return
			}
			s.next()
		case '"', '\'':
			s.skipString()
		case '\n':
			if len(stack) == 0 {
				return // no value: the decoder's error
			}
			s.next()
		default:
			if start := s.pos; s.scalar() == start {
				s.next() // not a value: skip it
			}
		}
		// Then what closes after it, up to the next value.
		var more bool
		stack, path, elem, depth, more = s.nextValue(stack)
		if !more {
			return
		}
	}
}

// nextValue moves past separators and closing brackets after a value (or
// after an opening bracket) to the next value inside the open arrays and
// inline tables. It returns the stack left, the next value's key path (or
// elem: it is the next element of the array at the top of the stack), its
// level, and whether there is one: false when the top-level value is
// complete.
func (s *limitScanner) nextValue(stack []frame) (_ []frame, path []string, elem bool, depth int, more bool) {
	for !s.done() && len(stack) > 0 {
		top := &stack[len(stack)-1]
		s.skipSpace(true)
		if s.done() {
			break
		}
		switch c := s.peek(); {
		case c == ',':
			s.next()
			continue
		case top.inline && c == '}', !top.inline && c == ']':
			s.next()
			stack = stack[:len(stack)-1]
			continue
		case top.inline:
			p := s.key(top.path, top.depth, s.line)
			s.skipSpace(false)
			if !s.done() && s.peek() == '=' {
				s.next()
			}
			return stack, p, false, top.depth + len(p) - len(top.path), !s.done()
		}
		top.n++
		depth := top.depth + 1
		switch {
		case !s.length(top.n):
			s.fail(top.line, pathOf(stack), "array of more than %d elements, the limit", MaxListLen)
		case !s.level(depth):
			s.fail(s.line, append(pathOf(stack), "["+strconv.Itoa(top.n-1)+"]"), depthMsg, MaxDepth)
		}
		return stack, nil, true, depth, !s.done()
	}
	return stack, nil, false, 0, false
}

// skipString skips a string of any of the four kinds.
func (s *limitScanner) skipString() {
	switch {
	case strings.HasPrefix(s.src[s.pos:], `"""`):
		s.multiline(`"""`, true)
	case strings.HasPrefix(s.src[s.pos:], "'''"):
		s.multiline("'''", false)
	case s.peek() == '"':
		s.basicString()
	default:
		s.literalString()
	}
	s.bad = false
}

// scalar skips a number, boolean or date-time and returns where it ends.
func (s *limitScanner) scalar() int {
	start := s.pos
	for !s.done() {
		c := s.peek()
		if c == ',' || c == ']' || c == '}' || c == '#' || c == '\n' || c == '\r' || c == '=' || c == '[' || c == '{' || c == '"' || c == '\'' {
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
	return s.pos
}
