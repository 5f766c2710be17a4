package services

import (
	"strings"
	"testing"
)

// TestKeyLines checks the key-path to line scanner on the TOML forms it must
// understand.
func TestKeyLines(t *testing.T) {
	src := `# comment with key = 1
name = "x" # trailing
command = [
  "a", # a comment in an array
  "b",
]
text = """
fake = 1
[fake]
"""
lit = '''
also = 2 '''
"quoted.key" = 1
a.b.c = 2
dt = 1979-05-27 07:32:00
inline = { x = 1, y = { z = 2 } }

[ready]
tcp = "h:1"

[ "log" . "sub" ]
keep = 3

[[arr]]
k = 1
[[arr]]
k = 2
after = 'x'
`
	kl := scanKeyLines([]byte(src))
	tests := []struct {
		path string
		line int
	}{
		{"name", 2}, {"command", 3}, {"text", 7}, {"lit", 11}, {"quoted.key", 13},
		{"a", 14}, {"a\x1fb", 14}, {"a\x1fb\x1fc", 14}, {"dt", 15},
		{"inline", 16}, {"inline\x1fy\x1fz", 16},
		{"ready", 18}, {"ready\x1ftcp", 19}, {"log\x1fsub", 21}, {"log\x1fsub\x1fkeep", 22},
		{"arr", 24}, {"arr\x1fk", 25}, {"arr\x1fafter", 28},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.path, "\x1f", "."), func(t *testing.T) {
			if got := kl[tt.path]; got != tt.line {
				t.Errorf("line = %d, want %d", got, tt.line)
			}
		})
	}
	for _, fake := range []string{"fake", "also"} {
		if _, ok := kl[fake]; ok {
			t.Errorf("key %q inside a string was recorded", fake)
		}
	}
	if got := kl.line([]string{"ready", "nope"}); got != 18 {
		t.Errorf("missing key falls back to line %d, want its table's 18", got)
	}
}
