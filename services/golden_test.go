package services

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testOpts are the options of the golden tests: a fixed environment and the
// built-in plugin names.
func testOpts() LoadOptions {
	env := map[string]string{"HOST": "db.internal", "PORT": "5432", "HOME": "/root"}
	return LoadOptions{
		Env:     func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Plugins: []string{"serf", "template", "logforward"},
	}
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

// TestBadFiles parses each testdata/bad/*.toml and compares the error with
// its .golden file.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".toml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			svc, err := Parse(path, data, testOpts())
			if err == nil {
				t.Fatalf("Parse accepted a bad file: %+v", svc)
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error is %T, want *Error: %v", err, err)
			}
			if e.File != path {
				t.Errorf("File = %q, want %q", e.File, path)
			}
			if e.Service == "" {
				t.Errorf("Service is empty in %v", e)
			}
			checkGolden(t, strings.TrimSuffix(path, ".toml")+".golden", err.Error()+"\n")
		})
	}
}

// TestBadSets loads each testdata/sets/<case> directory and compares the
// errors and the service order with <case>.golden.
func TestBadSets(t *testing.T) {
	dirs, err := filepath.Glob("testdata/sets/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			set, err := Load(dir, testOpts())
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString("errors:\n")
			for _, e := range set.Errors {
				if _, ok := e.(*Error); !ok {
					t.Errorf("error is %T, want *Error: %v", e, e)
				}
				b.WriteString(e.Error() + "\n")
			}
			b.WriteString("services:\n")
			for _, s := range set.Services {
				b.WriteString(s.Name + "\n")
			}
			checkGolden(t, dir+".golden", b.String())
		})
	}
	if n == 0 {
		t.Fatal("no set cases")
	}
}
