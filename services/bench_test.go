package services

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoad100 loads a directory of 100 services, each after the
// previous one, with env, ready and log settings.
func BenchmarkLoad100(b *testing.B) {
	dir := b.TempDir()
	for i := range 100 {
		src := fmt.Sprintf("command = [\"/usr/bin/app\", \"--id\", \"%d\", \"${HOST}\"]\nstop_timeout = \"5s\"\n[env]\nA = \"$PORT\"\n[ready]\ntcp = \"127.0.0.1:%d\"\n[log]\nmax_size = \"10MiB\"\n", i, 10000+i)
		if i > 0 {
			src = fmt.Sprintf("after = [\"svc%03d\"]\n", i-1) + src
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("svc%03d.toml", i)), []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		set, err := Load(dir, testOpts())
		if err != nil || len(set.Services) != 100 {
			b.Fatalf("Load: %v, %d services, %v", err, len(set.Services), set.Errors)
		}
	}
}

// BenchmarkParse parses one typical file.
func BenchmarkParse(b *testing.B) {
	data := []byte("command = [\"/usr/bin/web\", \"--listen\", \":${PORT}\"]\nafter = [\"db\"]\nuser = \"root\"\n[env]\nURL = \"pg://$HOST\"\n[ready]\nhttp = \"http://127.0.0.1:8080/health\"\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("web.toml", data, testOpts()); err != nil {
			b.Fatal(err)
		}
	}
}
