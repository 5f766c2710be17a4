// Package execline reads the one-line command files of s6-rc (`up`,
// `down`) and the command lines of `s6-notifyoncheck -c` the way execline's
// lexer does, and says whether corral can run the result by itself or needs
// execlineb.
//
// s6-rc lexes an `up` file at compile time and execs the resulting argv
// directly: no shell, no variable substitution. A file holding only
// comments is a command that succeeds at once. Blocks ({ ... }) and the
// execline programs that substitute variables or chain commands (if,
// foreground, importas, backtick...) need execline itself; corral hands
// such a script to `execlineb -Pc` (Debian package execline) when it is
// installed, and reports it otherwise.
package execline

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax is wrapped by every lexing error.
var ErrSyntax = errors.New("execline syntax error")

// Lex splits script into words as execline's lexer does:
//
//   - words are separated by blanks (space, tab, any control character) and
//     newlines;
//   - '#' at the start of a word starts a comment that ends at the newline
//     ("a#b" is one word);
//   - "..." quotes blanks and newlines; inside quotes \a \b \t \n \v \f \r
//     are control characters, \0xHH, \0ooo and \ddd give a byte (1 to 255),
//     a backslash before a newline removes both, and a backslash before
//     anything else keeps that character;
//   - outside quotes a backslash keeps the next character as it is;
//   - a word that is exactly "{" opens a block and "}" closes it: the words
//     inside a block are prefixed with one space per level and the block
//     ends with a word made of the spaces of the enclosing level (an empty
//     word at top level), as execline encodes blocks.
//
// It returns the words and whether there is at least one block.
func Lex(script string) (words []string, blocks bool, err error) {
	l := lexer{src: script}
	return l.run()
}

// lexer is the state of one Lex call.
type lexer struct {
	src   string
	pos   int
	level int // block nesting
	words []string
	block bool
}

func (l *lexer) run() ([]string, bool, error) {
	for {
		l.skipBlanks()
		if l.pos >= len(l.src) {
			break
		}
		c := l.src[l.pos]
		switch {
		case c == '#':
			l.skipComment()
		case c == '\\' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '\n':
			l.pos += 2 // a backslash-newline between words is nothing
		case c == '\\' && l.pos+1 >= len(l.src):
			l.pos++ // a lone backslash at the end is nothing
		default:
			if err := l.word(); err != nil {
				return nil, false, err
			}
		}
	}
	if l.level > 0 {
		return nil, false, fmt.Errorf("%w: unclosed block ({ without })", ErrSyntax)
	}
	return l.words, l.block, nil
}

// blank reports whether c separates words: a control character or space.
func blank(c byte) bool { return c != 0 && c <= ' ' }

func (l *lexer) skipBlanks() {
	for l.pos < len(l.src) && blank(l.src[l.pos]) {
		l.pos++
	}
}

func (l *lexer) skipComment() {
	for l.pos < len(l.src) && l.src[l.pos] != '\n' {
		l.pos++
	}
}

// word reads one word starting at l.pos (not a blank, not a comment).
func (l *lexer) word() error {
	var b strings.Builder
	start := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if blank(c) {
			break
		}
		switch c {
		case '"':
			l.pos++
			if err := l.quoted(&b); err != nil {
				return err
			}
			continue
		case '\\':
			if l.pos+1 >= len(l.src) {
				return fmt.Errorf("%w: backslash at the end of the script", ErrSyntax)
			}
			b.WriteByte(l.src[l.pos+1])
			l.pos += 2
			continue
		case 0:
			return fmt.Errorf("%w: NUL byte at offset %d", ErrSyntax, l.pos)
		}
		b.WriteByte(c)
		l.pos++
	}
	w := b.String()
	raw := l.src[start:l.pos]
	switch raw {
	case "{":
		l.level++
		l.block = true
		return nil
	case "}":
		if l.level == 0 {
			return fmt.Errorf("%w: } without {", ErrSyntax)
		}
		l.level--
		l.words = append(l.words, strings.Repeat(" ", l.level))
		return nil
	}
	l.words = append(l.words, strings.Repeat(" ", l.level)+w)
	return nil
}

// quoted reads the inside of a "..." string after the opening quote, up to
// and including the closing quote.
func (l *lexer) quoted(b *strings.Builder) error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		l.pos++
		switch c {
		case '"':
			return nil
		case 0:
			return fmt.Errorf("%w: NUL byte at offset %d", ErrSyntax, l.pos-1)
		case '\\':
			if err := l.escape(b); err != nil {
				return err
			}
		default:
			b.WriteByte(c)
		}
	}
	return fmt.Errorf("%w: unterminated quoted string", ErrSyntax)
}

// controls maps the letter of a quoted \x escape to its control character.
var controls = map[byte]byte{'a': 7, 'b': 8, 't': 9, 'n': 10, 'v': 11, 'f': 12, 'r': 13}

// escape reads a quoted escape after its backslash.
func (l *lexer) escape(b *strings.Builder) error {
	if l.pos >= len(l.src) {
		return fmt.Errorf("%w: unterminated quoted string", ErrSyntax)
	}
	c := l.src[l.pos]
	switch {
	case c == '\n':
		l.pos++ // line continuation: both go
		return nil
	case controls[c] != 0:
		l.pos++
		b.WriteByte(controls[c])
		return nil
	case c == '0':
		l.pos++
		if l.pos < len(l.src) && l.src[l.pos] == 'x' {
			l.pos++
			return l.number(b, 16, 2)
		}
		return l.number(b, 8, 3)
	case c >= '1' && c <= '9':
		return l.number(b, 10, 3)
	}
	l.pos++
	b.WriteByte(c)
	return nil
}

// number reads 1 to max digits in base and writes the byte they make,
// which must be 1 to 255.
func (l *lexer) number(b *strings.Builder, base, max int) error {
	v, n := 0, 0
	for n < max && l.pos < len(l.src) {
		d := digit(l.src[l.pos], base)
		if d < 0 {
			break
		}
		v = v*base + d
		l.pos++
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: bad numeric escape at offset %d", ErrSyntax, l.pos)
	}
	if v < 1 || v > 255 {
		return fmt.Errorf("%w: numeric escape %d out of range 1-255", ErrSyntax, v)
	}
	b.WriteByte(byte(v))
	return nil
}

// digit returns c's value in base, or -1.
func digit(c byte, base int) int {
	var d int
	switch {
	case c >= '0' && c <= '9':
		d = int(c - '0')
	case c >= 'a' && c <= 'f':
		d = int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		d = int(c-'A') + 10
	default:
		return -1
	}
	if d >= base {
		return -1
	}
	return d
}
