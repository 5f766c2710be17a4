package services

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// pathological are files that each cross one bound, as an attacker or a
// broken generator would write them, with where the error must point.
func pathological() []struct {
	name, src string
	line      int
	key       string // a prefix of the error's key
	msg       string // in the error's text
} {
	deep := 10000 // 60 KB of nested inline tables, as in issue 14
	var after strings.Builder
	after.WriteString("command = \"x\"\nafter = [")
	for i := range 80000 {
		fmt.Fprintf(&after, "\"s%d\",", i)
	}
	after.WriteString("]\n")
	var keys strings.Builder
	keys.WriteString("command = \"x\"\n[env]\n")
	for i := range MaxKeys + 10 {
		fmt.Fprintf(&keys, "K%d = \"v\"\n", i)
	}
	var tables strings.Builder
	tables.WriteString("plugin = \"p\"\n")
	for range MaxListLen + 1 {
		tables.WriteString("[[p.x]]\n")
	}
	return []struct {
		name, src string
		line      int
		key       string
		msg       string
	}{
		{"deep inline tables", "command = \"x\"\n\nx = " + strings.Repeat("{a = ", deep) + "1" + strings.Repeat("}", deep) + "\n",
			3, "x.a.a.a", "nested more than 32 levels"},
		{"deep arrays", "command = \"x\"\nx = " + strings.Repeat("[", deep*3) + strings.Repeat("]", deep*3) + "\n",
			2, "x[0][0][0]", "nested more than 32 levels"},
		{"deep arrays of inline tables", "command = \"x\"\nx = " + strings.Repeat("[{a=", deep) + "1" + strings.Repeat("}]", deep) + "\n",
			2, "x[0].a[0].a", "nested more than 32 levels"},
		{"dotted keys", "command = \"x\"\n# a comment\n" + strings.Repeat("a.", deep*3) + "a = 1\n",
			3, "a.a.a", "nested more than 32 levels"},
		{"dotted quoted keys", "command = \"x\"\n" + strings.Repeat(`"a".'b'.`, deep) + "a = 1\n",
			2, "a.b.a.b", "nested more than 32 levels"},
		{"dotted table header", "command = \"x\"\n[" + strings.Repeat("t.", deep*3) + "t]\nk = 1\n",
			2, "t.t.t", "nested more than 32 levels"},
		{"nested arrays of tables", "command = \"x\"\n" + func() string {
			var b strings.Builder
			for i := 1; i <= 20; i++ {
				b.WriteString("[[" + strings.TrimSuffix(strings.Repeat("a.", i), ".") + "]]\n")
			}
			return b.String()
		}(), 18, "a.a.a", "nested more than 32 levels"},
		{"huge after", after.String(), 2, "after", "array of more than 4096 elements"},
		{"too many keys", keys.String(), MaxKeys + 1, "env.K", "more than 4096 keys"},
		{"too many tables of one name", tables.String(), MaxListLen + 2, "p.x", "more than 4096 [[p.x]] tables"},
		{"long key", "command = \"x\"\n\"" + strings.Repeat("k", 100000) + "\" = 1\n", 2, "kkkk", "key of 100000 bytes"},
		{"too big", "command = \"x\"\n#" + strings.Repeat("x", MaxFileSize) + "\n", 0, "", "more than the limit of 1048576"},
	}
}

// TestLimitsRejectPathological checks that each pathological file is
// rejected by the bounds (not by the decoder), with its file, line and key.
// How fast is BenchmarkRejectPathological's business.
func TestLimitsRejectPathological(t *testing.T) {
	for _, tc := range pathological() {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("/etc/services.d/bad.toml", []byte(tc.src), testOpts())
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrLimit) {
				t.Fatalf("err = %.300v, want an *Error wrapping ErrLimit", err)
			}
			if e.File != "/etc/services.d/bad.toml" || e.Line != tc.line || !strings.HasPrefix(e.Key, tc.key) || e.Service != "bad" {
				t.Errorf("error at %s:%d key %.60q (service %q), want line %d key %q...", e.File, e.Line, e.Key, e.Service, tc.line, tc.key)
			}
			if !strings.Contains(e.Error(), tc.msg) {
				t.Errorf("error %.300q does not say %q", e.Error(), tc.msg)
			}
			if len(e.Error()) > 2000 {
				t.Errorf("error message of %d bytes", len(e.Error()))
			}
		})
	}
}

// TestLoadRejectsPathologicalKeepsGood: in a directory holding every
// pathological file, the good files load and each bad one has its error.
func TestLoadRejectsPathologicalKeepsGood(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "web.toml"), "command = [\"web\"]\nafter = [\"db\", \"db\", \"db\"]\n")
	write(t, filepath.Join(dir, "db.toml"), "command = [\"db\"]\n")
	for i, tc := range pathological() {
		write(t, filepath.Join(dir, fmt.Sprintf("bad%02d.toml", i)), tc.src)
	}
	set, err := Load(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	eq(t, names(set.Services), []string{"db", "web"})
	eq(t, set.Get("web").After, []string{"db"})
	if len(set.Errors) != len(pathological()) {
		t.Fatalf("%d errors, want %d: %v", len(set.Errors), len(pathological()), set.Errors)
	}
	for i, err := range set.Errors {
		var e *Error
		want := filepath.Join(dir, fmt.Sprintf("bad%02d.toml", i))
		if !errors.As(err, &e) || e.File != want || !errors.Is(err, ErrLimit) {
			t.Errorf("error %d = %.200v, want ErrLimit in %s", i, err, want)
		}
	}
}

// TestLimitsAtTheBounds: files exactly at each bound pass, one step past
// it they do not.
func TestLimitsAtTheBounds(t *testing.T) {
	list := func(n int) string { return "x = [" + strings.Repeat("1,", n) + "]\n" }
	keys := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "k%d = 1\n", i)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name     string
		at, past string
	}{
		{"inline tables", "x = " + strings.Repeat("{a=", MaxDepth-1) + "1" + strings.Repeat("}", MaxDepth-1),
			"x = " + strings.Repeat("{a=", MaxDepth) + "1" + strings.Repeat("}", MaxDepth)},
		{"arrays", "x = " + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
			"x = " + strings.Repeat("[", MaxDepth) + "1" + strings.Repeat("]", MaxDepth)},
		{"dotted key", strings.Repeat("a.", MaxDepth-1) + "a = 1", strings.Repeat("a.", MaxDepth) + "a = 1"},
		{"header and key", "[" + strings.Repeat("a.", MaxDepth-2) + "a]\nk = 1", "[" + strings.Repeat("a.", MaxDepth-1) + "a]\nk = 1"},
		{"array length", list(MaxListLen), list(MaxListLen + 1)},
		{"keys", keys(MaxKeys), keys(MaxKeys + 1)},
		{"key length", `"` + strings.Repeat("k", MaxKeyLen) + `" = 1`, `"` + strings.Repeat("k", MaxKeyLen+1) + `" = 1`},
		{"size", "#" + strings.Repeat("x", MaxFileSize-1), "#" + strings.Repeat("x", MaxFileSize)},
	} {
		if le := checkLimits([]byte(tc.at)); le != nil {
			t.Errorf("%s at the bound: %v", tc.name, le)
		}
		if le := checkLimits([]byte(tc.past)); le == nil {
			t.Errorf("%s past the bound: accepted", tc.name)
		}
	}
}

// TestLimitsIgnoreStringsAndComments: brackets, dots, quotes and equals
// signs inside strings and comments are not structure.
func TestLimitsIgnoreStringsAndComments(t *testing.T) {
	deep := strings.Repeat("[{a.b.c=", 100)
	src := "command = [\"" + deep + "\", '" + deep + "']\n# " + deep + "\n" +
		"x = \"\"\"\n" + deep + "\n\\\"\"\" \"\"\"\ny = '''\n" + deep + "\n'''\n" +
		"z = 1979-05-27 07:32:00 # " + deep + "\n" +
		"w = [ # " + deep + "\n 1, # ]]]\n 2 ]\n"
	le := checkLimits([]byte(src))
	if le != nil {
		t.Fatalf("checkLimits: %v (line %d key %q)", le, le.line, keyString(le.path))
	}
	var tree map[string]any
	if _, err := toml.Decode(src, &tree); err != nil {
		t.Fatalf("the test's file is not TOML: %v", err)
	}
}

// TestAfterDeduplicated: duplicates in after are dropped, keeping the first
// of each in order, over a list at the length bound.
func TestAfterDeduplicated(t *testing.T) {
	var b strings.Builder
	b.WriteString("command = \"x\"\nafter = [")
	for i := range MaxListLen {
		fmt.Fprintf(&b, "\"s%d\",", i%100)
	}
	b.WriteString("]\n")
	svc, err := Parse("a.toml", []byte(b.String()), testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.After) != 100 || svc.After[0] != "s0" || svc.After[99] != "s99" {
		t.Errorf("after = %d names, %v...", len(svc.After), svc.After[:min(3, len(svc.After))])
	}
}

// treeStats measures a decoded TOML tree as checkLimits counts: the
// deepest level (a key one below its table, an element one below its
// array), the longest array and the number of keys.
func treeStats(v any, level int) (deepest, longest, keys int) {
	deepest = level
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			d, l, k := treeStats(e, level+1)
			deepest, longest, keys = max(deepest, d), max(longest, l), keys+k+1
		}
	case []map[string]any:
		longest = len(v)
		for _, e := range v {
			d, l, k := treeStats(e, level+1)
			deepest, longest, keys = max(deepest, d), max(longest, l), keys+k
		}
	case []any:
		longest = len(v)
		for _, e := range v {
			d, l, k := treeStats(e, level+1)
			deepest, longest, keys = max(deepest, d), max(longest, l), keys+k
		}
	}
	return deepest, longest, keys
}

// FuzzLimits checks that checkLimits never under-counts: for any input it
// lets through that the decoder accepts, the decoded tree is no deeper, no
// longer and has no more keys than the scanner counted, so no file within
// the bounds can make the decoder do more work than the bounds allow.
func FuzzLimits(f *testing.F) {
	for _, s := range []string{
		"a = 1", "a.b.c = [1, [2, {x = 3}]]", "[t]\nk = {a = {b = [1]}}", "[[a]]\n[[a.b]]\nk = 1\n[[a]]",
		"x = \"\"\"\n[[[\"\"\" # {{{", "'q'.\"r\" = '''a\n]'''", "d = 1979-05-27 07:32:00Z\ne = [1979-05-27 07:32:00, 2]",
		"a = [\n# ]\n1,\n]\n", "t = {a.b = 1, c = [ {d = 2} ]}", "\ufeffa = 1", "a = \"\\\"[\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &limitScanner{lineScanner: lineScanner{src: string(data), line: 1}, arrays: map[string]int{}}
		s.document()
		if s.err != nil || len(data) > 64<<10 {
			return
		}
		var tree map[string]any
		if _, err := toml.Decode(string(data), &tree); err != nil {
			return
		}
		d, l, k := treeStats(tree, 0)
		if d > s.deepest || l > s.longest || k > s.keys {
			t.Fatalf("tree has depth %d, longest array %d, %d keys; the scanner counted %d, %d, %d",
				d, l, k, s.deepest, s.longest, s.keys)
		}
	})
}

// TestLongValuesClipped: a value as long as the file makes an error of a
// bounded size, and the suggestion search skips it.
func TestLongValuesClipped(t *testing.T) {
	long := strings.Repeat("\u00e9", MaxFileSize/2-100)
	for _, src := range []string{
		"command = \"x\"\ntype = \"" + long + "\"\n",
		"plugin = \"" + long + "\"\n",
		"command = \"x\"\nstop_signal = \"" + long + "\"\n",
	} {
		_, err := Parse("long.toml", []byte(src), testOpts())
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("err = %.200v", err)
		}
		msg := e.Error()
		if len(msg) > 1200 || !strings.HasSuffix(msg, " bytes cut)") || !utf8.ValidString(msg) {
			t.Errorf("message of %d bytes: %.100q...%q", len(msg), msg, msg[max(0, len(msg)-40):])
		}
	}
	if s := suggest("longrun"+strings.Repeat("x", 1000), []string{"longrun"}); s != "" {
		t.Errorf("suggest = %q for a far longer word", s)
	}
	if s := suggest("longrn", []string{"longrun", "oneshot"}); s != "longrun" {
		t.Errorf("suggest(longrn) = %q", s)
	}
}
