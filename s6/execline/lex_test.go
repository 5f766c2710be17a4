package execline

import (
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/corralhq/corral/test/testutil"
)

// lexCases are scripts of the kinds s6-rc `up` files hold, with the argv
// s6-rc-compile stores for them.
var lexCases = []struct {
	name, script string
	want         []string
}{
	{"linuxserver up: a path", "/etc/s6-overlay/s6-rc.d/init-adduser/run\n", []string{"/etc/s6-overlay/s6-rc.d/init-adduser/run"}},
	{"no trailing newline", "/etc/s6-overlay/s6-rc.d/init-adduser/run", []string{"/etc/s6-overlay/s6-rc.d/init-adduser/run"}},
	{"echo with quotes", `echo "[ls.io-init] done."`, []string{"echo", "[ls.io-init] done."}},
	{"comment only", "# This file doesn't do anything, it's just the end of the downstream image init process\n", nil},
	{"empty", "", nil},
	{"comment after a word", "a b # c d\ne", []string{"a", "b", "e"}},
	{"hash inside a word", "a#b c", []string{"a#b", "c"}},
	{"quotes inside a word", `a"b c"d`, []string{"ab cd"}},
	{"empty quoted word", `a "" b`, []string{"a", "", "b"}},
	{"escapes in quotes", `"t\tn\nq\"b\\"`, []string{"t\tn\nq\"b\\"}},
	{"numeric escapes", `"\0x41\0101\66"`, []string{"AAB"}},
	{"backslash-newline in quotes", "\"a\\\nb\"", []string{"ab"}},
	{"backslash outside quotes", `a\ b \"c`, []string{"a b", `"c`}},
	{"tabs and CRs", "a\tb\r\nc", []string{"a", "b", "c"}},
	{"block", "if { mkdir -p /var/log/app } chmod 02755 /var/log/app", []string{"if", " mkdir", " -p", " /var/log/app", "", "chmod", "02755", "/var/log/app"}},
	{"nested blocks", "a { b { c } d } e", []string{"a", " b", "  c", " ", " d", "", "e"}},
	{"brace inside a word", "{a} b", []string{"{a}", "b"}},
}

func TestLex(t *testing.T) {
	for _, tc := range lexCases {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := Lex(tc.script)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Lex(%q) = %q, want %q", tc.script, got, tc.want)
			}
		})
	}
}

func TestLexErrors(t *testing.T) {
	for _, script := range []string{`"unterminated`, "if { a", "a }", `"\0"`, `"\0x"`, `"\300"`, `a\`} {
		if _, _, err := Lex(script); !errors.Is(err, ErrSyntax) {
			t.Errorf("Lex(%q): err = %v, want a syntax error", script, err)
		}
	}
}

// TestLexMatchesExeclineb checks the lexer against the real execlineb
// (Debian package execline): execlineb -Pc runs printf with the words it
// lexed, each followed by a 0x1f byte, and they must equal Lex's.
func TestLexMatchesExeclineb(t *testing.T) {
	testutil.Require(t, testutil.Command("execlineb", "execline"))
	bin, _ := exec.LookPath("execlineb")
	for _, tc := range lexCases {
		if len(tc.want) == 0 {
			continue // printf needs at least one word
		}
		t.Run(tc.name, func(t *testing.T) {
			script := `printf "%s\0x1f" ` + tc.script
			out, err := exec.Command(bin, "-Pc", script).Output()
			if err != nil {
				t.Fatalf("execlineb -Pc %q: %v", script, err)
			}
			got := strings.Split(string(out), "\x1f")
			got = got[:len(got)-1]
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("execlineb lexed %q as %q; the table (and Lex) say %q", tc.script, got, tc.want)
			}
		})
	}
}

func TestParseKinds(t *testing.T) {
	provided := func(n string) bool { return n == "cd" || n == "fdmove" }
	for _, tc := range []struct {
		script string
		kind   Kind
		maybe  bool
	}{
		{"# nothing", Empty, false},
		{`echo "[ls.io-init] done."`, Direct, false},
		{"/etc/s6-overlay/s6-rc.d/init-a/run", Direct, false},
		{"fdmove -c 2 1 /usr/bin/app", Direct, false},
		{"cd /app ./start", Direct, false},
		{"if { mkdir -p /x } chmod 0755 /x", Execlineb, false},
		{"importas -u HOME HOME ls $HOME", Execlineb, false},
		{"redirfd -w 1 /dev/null app", Execlineb, false},
		{"fdmove -c 2 1 importas X X echo $X", Direct, true},
	} {
		s, err := Parse(tc.script, provided)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.script, err)
		}
		if s.Kind != tc.kind || s.Maybe != tc.maybe {
			t.Errorf("Parse(%q) = %s maybe=%v, want %s maybe=%v", tc.script, s.Kind, s.Maybe, tc.kind, tc.maybe)
		}
	}
}

func TestCommand(t *testing.T) {
	s, _ := Parse("if { true } echo ok", nil)
	if _, err := s.Command(""); err == nil || !strings.Contains(err.Error(), "execline") {
		t.Fatalf("without execlineb: err = %v, want one naming the execline package", err)
	}
	argv, err := s.Command("/usr/bin/execlineb")
	if err != nil || !reflect.DeepEqual(argv, []string{"/usr/bin/execlineb", "-Pc", "if { true } echo ok"}) {
		t.Fatalf("with execlineb: %q, %v", argv, err)
	}
	m, _ := Parse("fdmove -c 2 1 importas X X echo $X", func(string) bool { return true })
	if argv, err := m.Command(""); err != nil || argv[0] != "fdmove" {
		t.Fatalf("maybe without execlineb runs directly: %q, %v", argv, err)
	}
	if argv, _ := m.Command("/usr/bin/execlineb"); argv[0] != "/usr/bin/execlineb" {
		t.Fatalf("maybe with execlineb uses it: %q", argv)
	}
	e, _ := Parse("# comment only\n", nil)
	if argv, err := e.Command(""); argv != nil || err != nil {
		t.Fatalf("empty: %q, %v", argv, err)
	}
}
