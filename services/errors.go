package services

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a bad-input error naming the file, the line and the key at fault.
//
// Its text has the stable form
//
//	path/x.toml:12: key "restrat": unknown key (did you mean "restart"?)
//
// where the line is left out when unknown (0) and the key part when the
// error is about the whole file.
type Error struct {
	// File is the path of the service file.
	File string
	// Line is the 1-based line of the key (or of the syntax error); 0 when
	// the error has no single place, such as a missing key.
	Line int
	// Key is the dotted key path, such as "ready.tcp" or "serf.join"; an
	// array element is written "command[2]". Empty for file-level errors.
	Key string
	// Service is the name of the service the error concerns when it is
	// known (the file name without ".toml" when the file did not parse).
	// The supervisor uses it to keep a running version of that service.
	Service string
	// Err is the underlying error.
	Err error
}

// Error formats e as "file:line: key \"k\": message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		fmt.Fprintf(&b, "key %q: ", e.Key)
	}
	if e.Err != nil {
		b.WriteString(clip(e.Err.Error()))
	} else {
		b.WriteString("invalid")
	}
	return b.String()
}

// maxMessage bounds an error's message: a value quoted from a file can be
// as long as the file.
const maxMessage = 1000

// clip cuts msg to about maxMessage bytes, on a rune boundary, saying so.
func clip(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes cut)", msg[:cut], len(msg)-cut)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// suggest returns the candidate nearest to s by edit distance, or "" when
// none is near enough to be a likely typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", -1
	limit := max(2, len(s)/3)
	runes := utf8.RuneCountInString(s)
	for _, c := range candidates {
		// The distance is at least the difference in length: skip the
		// quadratic work when that alone is too far (a value quoted from a
		// file can be as long as the file).
		if c == s || abs(utf8.RuneCountInString(c)-runes) > limit {
			continue
		}
		d := levenshtein(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if bestD < 0 {
		return ""
	}
	if bestD > limit {
		return ""
	}
	return best
}

// abs is |n|.
func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// didYouMean formats a suggestion suffix, or "" without one.
func didYouMean(s string, candidates []string) string {
	if c := suggest(s, candidates); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

// levenshtein is the edit distance between a and b, by rune.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
