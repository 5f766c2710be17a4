package output

import (
	"strings"
	"testing"
)

type collect struct{ lines []Line }

func (c *collect) WriteLine(l *Line) {
	cp := *l
	cp.Text = append([]byte(nil), l.Text...)
	c.lines = append(c.lines, cp)
}
func (c *collect) Close() error { return nil }

func TestReadLines(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	for _, tc := range []struct {
		name, in string
		want     []string // "+" suffix marks a Partial piece
	}{
		{"short", "a\nbb\n", []string{"a", "bb"}},
		{"no final newline", "a\nlast", []string{"a", "last"}},
		{"empty lines", "\n\n", []string{"", ""}},
		{"buffer sized", x(readBuffer) + "\n", []string{x(readBuffer)}},
		{"just under MaxLine", x(MaxLine-1) + "\nz\n", []string{x(MaxLine - 1), "z"}},
		{"exactly MaxLine", x(MaxLine) + "\n", []string{x(MaxLine) + "+", ""}},
		{"three pieces", x(2*MaxLine+5) + "\n", []string{x(MaxLine) + "+", x(MaxLine) + "+", x(5)}},
		{"long without newline", x(MaxLine + 7), []string{x(MaxLine) + "+", x(7)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c collect
			readLines(strings.NewReader(tc.in), "svc", Stdout, []LineSink{&c})
			var got []string
			for _, l := range c.lines {
				s := string(l.Text)
				if l.Partial {
					s += "+"
				}
				got = append(got, s)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d lines, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("line %d: got %.20q... (len %d), want %.20q... (len %d)", i, got[i], len(got[i]), tc.want[i], len(tc.want[i]))
				}
			}
		})
	}
}
