package plugins

import "testing"

// TestExpand checks variable expansion.
func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "EMPTY": "", "LONG_NAME_2": "x"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"$A", "1", ""},
		{"${A}b", "1b", ""},
		{"$Ab", "", ""},
		{"x$LONG_NAME_2.y", "xx.y", ""},
		{"$$A", "$A", ""},
		{"$$$A", "$1", ""},
		{"${MISSING}", "", ""},
		{"${MISSING:-d}", "d", ""},
		{"${EMPTY:-d}", "d", ""},
		{"${A:-d}", "1", ""},
		{"$1 $(x) $ $", "$1 $(x) $ $", ""},
		{"end$", "end$", ""},
		{"${A", "", `unterminated ${ in "${A"`},
		{"${1A}", "", `bad variable reference ${1A} in "${1A}": want ${NAME} or ${NAME:-default}`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Expand(tt.in, lookup)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
