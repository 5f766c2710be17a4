package services

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func names(svcs []*Service) []string {
	out := []string{}
	for _, s := range svcs {
		out = append(out, s.Name)
	}
	return out
}

// TestSetOrder checks dependency order, stop order and dependents.
func TestSetOrder(t *testing.T) {
	set, err := Load("testdata/sets/order", testOpts())
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Errors) != 0 {
		t.Fatalf("errors: %v", set.Errors)
	}
	eq(t, set.Dir, "testdata/sets/order")
	eq(t, names(set.Services), []string{"init", "cache", "db", "app", "lb", "zz"})
	eq(t, names(set.Reverse()), []string{"zz", "lb", "app", "db", "cache", "init"})
	eq(t, set.Dependents("init"), []string{"cache", "db", "app", "lb"})
	eq(t, set.Dependents("db"), []string{"app", "lb"})
	eq(t, set.Dependents("zz"), []string(nil))
	if s := set.Get("db"); s == nil || s.Name != "db" {
		t.Errorf("Get(db) = %v", s)
	}
	if s := set.Get("nope"); s != nil {
		t.Errorf("Get(nope) = %v", s)
	}
}

// TestLoadMissingDir checks that a missing directory is an empty set and an
// unreadable path is an error.
func TestLoadMissingDir(t *testing.T) {
	set, err := Load(filepath.Join(t.TempDir(), "nope"), testOpts())
	if err != nil || len(set.Services) != 0 || len(set.Errors) != 0 {
		t.Fatalf("Load(missing) = %+v, %v", set, err)
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(f, testOpts()); err == nil {
		t.Fatal("Load(a file) succeeded")
	}
}

// TestLoadSymlinks checks that symlinked files load and dangling ones are skipped.
func TestLoadSymlinks(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "..data")
	write(t, filepath.Join(dir, "..2026", "web.toml"), `command = ["web"]`)
	mustSymlink(t, "..2026", data)
	mustSymlink(t, "..data/web.toml", filepath.Join(dir, "web.toml"))
	mustSymlink(t, "..data/gone.toml", filepath.Join(dir, "gone.toml"))
	set, err := Load(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	eq(t, names(set.Services), []string{"web"})
	eq(t, len(set.Errors), 0)
}

// TestCompare checks added, changed, removed and invalid services.
func TestCompare(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "keep.toml"), `command = ["keep"]`)
	write(t, filepath.Join(dir, "change.toml"), `command = ["change", "1"]`)
	write(t, filepath.Join(dir, "remove.toml"), `command = ["remove"]`)
	write(t, filepath.Join(dir, "breaks.toml"), `command = ["breaks"]`)
	write(t, filepath.Join(dir, "dependent.toml"), "command = [\"dep\"]\nafter = [\"breaks\"]\n")
	running, err := Load(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	eq(t, Compare(nil, running), Diff{Added: []string{"breaks", "change", "dependent", "keep", "remove"}})
	eq(t, Compare(running, running).Empty(), true)

	write(t, filepath.Join(dir, "change.toml"), `command = ["change", "2"]`)
	write(t, filepath.Join(dir, "breaks.toml"), `command = ["breaks"`)
	write(t, filepath.Join(dir, "new.toml"), `command = ["new"]`)
	if err := os.Remove(filepath.Join(dir, "remove.toml")); err != nil {
		t.Fatal(err)
	}
	next, err := Load(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	d := Compare(running, next)
	eq(t, d, Diff{
		Added:   []string{"new"},
		Changed: []string{"change"},
		Removed: []string{"breaks", "dependent", "remove"},
		Invalid: []string{"breaks", "dependent"},
	})
	eq(t, Compare(running, nil), Diff{Removed: []string{"breaks", "change", "dependent", "keep", "remove"}})
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestLoadOddFiles checks that a FIFO or a huge file is reported, not read.
func TestLoadOddFiles(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.toml"), 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "big.toml"), "# "+strings.Repeat("x", MaxFileSize)+"\ncommand = [\"x\"]\n")
	write(t, filepath.Join(dir, "ok.toml"), `command = ["ok"]`)
	set, err := Load(dir, testOpts())
	if err != nil {
		t.Fatal(err)
	}
	eq(t, names(set.Services), []string{"ok"})
	eq(t, len(set.Errors), 2)
	for _, e := range set.Errors {
		switch {
		case strings.HasSuffix(asError(e).File, "big.toml"):
			if !errors.Is(e, ErrLimit) || !strings.Contains(e.Error(), "more than the limit of 1048576") {
				t.Errorf("big file: %v", e)
			}
		case !strings.Contains(e.Error(), "not a regular file"):
			t.Errorf("unexpected error %v", e)
		}
	}
}

// TestDiffEmpty checks Empty.
func TestDiffEmpty(t *testing.T) {
	eq(t, Diff{}.Empty(), true)
	eq(t, Diff{Removed: []string{"a"}, Invalid: []string{"a"}}.Empty(), true)
	eq(t, Diff{Removed: []string{"a", "b"}, Invalid: []string{"a"}}.Empty(), false)
	eq(t, Diff{Added: []string{"a"}}.Empty(), false)
	eq(t, Diff{Changed: []string{"a"}}.Empty(), false)
}

// TestLoadKnownNames: after, wants and stdout_to may name services defined
// elsewhere (an s6 tree), given as LoadOptions.Known; other names are still
// unknown.
func TestLoadKnownNames(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"app":   "command = \"app\"\nafter = [\"init-config\"]\nwants = [\"svc-log\"]\n",
		"typo":  "command = \"x\"\nafter = [\"init-confg\"]\n",
		"piped": "command = \"y\"\nstdout_to = \"svc-log\"\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name+".toml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := Load(dir, LoadOptions{Known: []string{"init-config", "svc-log"}})
	if err != nil {
		t.Fatal(err)
	}
	if set.Get("app") == nil || set.Get("piped") == nil {
		t.Fatalf("services naming known services were left out: %v", set.Errors)
	}
	if set.Get("typo") != nil || len(set.Errors) != 1 || !strings.Contains(set.Errors[0].Error(), `unknown service "init-confg"`) {
		t.Fatalf("errors %v", set.Errors)
	}
}
