package contenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/corralhq/corral/test/testutil"
)

// TestDumpReadRoundTrip: what s6-overlay (3.2.2.0+) dumps at boot,
// with-contenv gives back exactly, including empty and multi-line values.
func TestDumpReadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "container_environment")
	env := []string{"A=1", "EMPTY=", "MULTI=l1\nl2\n", "SPACES=  x  ", "A=2", "PATH=/command:/usr/bin:/bin"}
	if err := Dump(dir, env); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("dir mode: %v %v, want 0755", st.Mode(), err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "A"))
	if string(b) != "2\n" {
		t.Fatalf("A's file holds %q, want the last value with a newline, as s6-overlay >= 3.2.2.0 writes it", b)
	}
	vars, err := ReadDir(dir, ContEnv)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vars {
		if v.Unset {
			t.Fatalf("%s unset", v.Name)
		}
		got[v.Name] = v.Value
	}
	want := map[string]string{"A": "2", "EMPTY": "", "MULTI": "l1\nl2\n", "SPACES": "  x  ", "PATH": "/command:/usr/bin:/bin"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %q, want %q", got, want)
	}
}

func TestDumpReportsBadNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ce")
	err := Dump(dir, []string{"OK=1", "A/B=2"})
	if err == nil || !strings.Contains(err.Error(), "A/B") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("err = %v, want one naming A/B and %s", err, dir)
	}
	if v, ok := Lookup(dir, "OK"); !ok || v != "1" {
		t.Fatalf("the good variable was not written: %q %v", v, ok)
	}
}

// TestFilesWrittenByScripts: linuxserver's hook writes with printf (no
// newline); others use echo. Both read as the bare value; an empty file
// unsets the variable (s6-envdir).
func TestFilesWrittenByScripts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("LSIO_READ_ONLY_FS", "1")
	write("ECHOED", "1\n")
	write("GONE", "")
	write(".hidden", "x\n")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	vars, err := ReadDir(dir, ContEnv)
	if err != nil {
		t.Fatal(err)
	}
	env := Apply([]string{"PATH=/bin", "GONE=was here"}, vars)
	slices.Sort(env)
	want := []string{"ECHOED=1", "LSIO_READ_ONLY_FS=1", "PATH=/bin"}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("env = %q, want %q", env, want)
	}
	if _, ok := Lookup(dir, "GONE"); ok {
		t.Fatal("an empty file must read as unset")
	}
}

// TestReadMatchesS6Envdir compares ReadDir with Debian's s6-envdir for the
// option sets images use: none, -f, -fn, -Lf.
func TestReadMatchesS6Envdir(t *testing.T) {
	testutil.Require(t, testutil.Command("s6-envdir", "s6"))
	bin, _ := exec.LookPath("s6-envdir")
	dir := t.TempDir()
	files := map[string]string{
		"PLAIN": "v", "NL": "v\n", "TWO": "l1\nl2\n", "BLANKS": "v \t\n", "NUL": "a\x00b",
		"EMPTYLINE": "\n", "LONG": strings.Repeat("x", 5000),
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		flags []string
		o     Options
	}{
		{nil, Options{}},
		{[]string{"-f"}, Options{Verbatim: true}},
		{[]string{"-fn"}, Options{Verbatim: true, NoChomp: true}},
		{[]string{"-n"}, Options{NoChomp: true}},
		{[]string{"-Lf"}, ContEnv},
	} {
		t.Run(strings.Join(append([]string{"flags"}, tc.flags...), ""), func(t *testing.T) {
			args := append(append(tc.flags, dir), "/usr/bin/env", "-0")
			cmd := exec.Command(bin, args...)
			cmd.Env = []string{}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("s6-envdir %q: %v", args, err)
			}
			want := map[string]string{}
			for _, kv := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
				if k, v, ok := strings.Cut(kv, "="); ok {
					want[k] = v
				}
			}
			vars, err := ReadDir(dir, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, kv := range Apply(nil, vars) {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			for k := range files {
				if got[k] != want[k] {
					t.Errorf("%s: ReadDir gives %d bytes %.40q, s6-envdir %v gives %d bytes %.40q", k, len(got[k]), got[k], tc.flags, len(want[k]), want[k])
				}
			}
		})
	}
}
