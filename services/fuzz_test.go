package services

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse (and the key-line scanner and
// plugin decoding behind it): it must never panic, and must return either a
// complete service or an *Error naming the file.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.toml")
	more, _ := filepath.Glob("testdata/sets/*/*.toml")
	for _, p := range append(seeds, more...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("plugin = \"serf\"\n[serf]\njoin = [\"a\"]\nlimits = { max = 1 }\n"))
	f.Add([]byte("command = \"\"\"\nx\n\"\"\"\n[ready]\ncommand = ['a', '''b''']\n"))
	// Near and past the bounds of limits.go.
	f.Add([]byte("command = \"x\"\nx = " + strings.Repeat("{a=", MaxDepth) + "1" + strings.Repeat("}", MaxDepth) + "\n"))
	f.Add([]byte("command = \"x\"\nx = " + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + "\n"))
	f.Add([]byte("command = \"x\"\n" + strings.Repeat("a.", MaxDepth) + "a = 1\n"))
	f.Add([]byte("command = \"x\"\n[[t]]\n[[t.u]]\n[[t]]\nafter = [\"a\", \"a\", 'b']\n"))
	f.Add([]byte("command = \"x\"\ntype = \"" + strings.Repeat("longrun", 200) + "\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = scanKeyLines(data)
		limited := checkLimits(data)
		svc, err := Parse("fuzz.toml", data, testOpts())
		if limited != nil && !errors.Is(err, ErrLimit) {
			t.Fatalf("past a bound (%v) but Parse says %v", limited, err)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.File != "fuzz.toml" || e.Err == nil {
				t.Fatalf("error is not a complete *Error: %#v", err)
			}
			if msg := e.Error(); len(msg) > 16<<10 {
				t.Fatalf("error message of %d bytes", len(msg))
			}
			return
		}
		if svc.Name == "" || len(svc.Hash) != 64 {
			t.Fatalf("incomplete service: %+v", svc)
		}
		if (len(svc.Command) == 0) == (svc.Plugin == "") {
			t.Fatalf("want exactly one of command and plugin: %+v", svc)
		}
		if svc.PluginConfig != nil {
			var cfg serfConfig
			_ = svc.PluginConfig.Decode(&cfg)
			var m map[string]any
			_ = svc.PluginConfig.Decode(&m)
		}
	})
}
