// Package contenv writes and reads s6-overlay's container environment,
// /run/s6/container_environment: one file per variable, named after it.
//
// Format: the one of s6-overlay 3.2.2.0 and later. Dump writes each value
// followed by a newline, so an empty variable is a file holding "\n" and
// stays set (set-but-empty), and a value is kept exactly, newlines and all.
// Read with the with-contenv rules (s6-envdir -Lf) it strips one trailing
// newline, so files written by scripts with `printf 1 > FILE` (no newline,
// as linuxserver's hook does) and `echo 1 > FILE` both read as "1". An empty
// file unsets the variable, as s6-envdir does.
package contenv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Dir is where s6-overlay keeps the container environment.
const Dir = "/run/s6/container_environment"

// Var is one variable read from an environment directory.
type Var struct {
	Name  string
	Value string
	// Unset is true for an empty file: the variable is removed.
	Unset bool
}

// Options says how ReadDir reads each file; the zero value is s6-envdir
// without options (first line, trailing blanks removed, 4095 bytes at most).
type Options struct {
	// Verbatim (-f) takes the whole file, not its first line.
	Verbatim bool
	// NoChomp (-n) keeps the last newline (with Verbatim) or the trailing
	// blanks of the first line (without).
	NoChomp bool
	// NoClamp (-L) reads past 4095 bytes.
	NoClamp bool
	// NullIs replaces NUL bytes (default '\n').
	NullIs byte
}

// ContEnv are the options with-contenv reads the container environment
// with (s6-envdir -Lf).
var ContEnv = Options{Verbatim: true, NoClamp: true}

// clamp is how much of a file s6-envdir reads without -L: a 4096-byte
// buffer, one byte of which ends the string.
const clamp = 4095

// Dump writes env ("K=V" entries) into dir, replacing what was there: the
// files are written in a temporary directory next to it that is then
// renamed, so readers never see half a dump. The directory ends up with
// mode 0755 and the files with 0644. A variable whose name cannot be a file
// name (empty, ".", "..", or containing '/') is left out and reported in
// the error, after the rest was written.
func Dump(dir string, env []string) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("dumping the environment: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(dir)+":envdump:")
	if err != nil {
		return fmt.Errorf("dumping the environment: %w", err)
	}
	var skipped []string
	seen := map[string]bool{}
	// Later entries win, as in a process environment.
	for i := len(env) - 1; i >= 0; i-- {
		name, value, ok := strings.Cut(env[i], "=")
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
			skipped = append(skipped, name)
			continue
		}
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(value+"\n"), 0o644); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("dumping the environment: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("dumping the environment: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("dumping the environment: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("dumping the environment: %w", err)
	}
	if len(skipped) > 0 {
		sort.Strings(skipped)
		return fmt.Errorf("dumping the environment to %s: left out variables whose names cannot be file names: %q", dir, skipped)
	}
	return nil
}

// ReadDir reads every variable of an environment directory with o, in name
// order: files whose names start with '.' or contain '=' are skipped, as
// are subdirectories.
func ReadDir(dir string, o Options) ([]Var, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading environment directory: %w", err)
	}
	var out []Var
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.Contains(name, "=") {
			continue
		}
		v, err := ReadFile(filepath.Join(dir, name), o)
		if errors.Is(err, errIsDir) || errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

var errIsDir = errors.New("is a directory")

// ReadFile reads one variable file with o; the variable is named after it.
func ReadFile(path string, o Options) (Var, error) {
	v := Var{Name: filepath.Base(path)}
	st, err := os.Stat(path)
	if err != nil {
		return v, fmt.Errorf("reading environment variable: %w", err)
	}
	if st.IsDir() {
		return v, fmt.Errorf("%s: %w", path, errIsDir)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return v, fmt.Errorf("reading environment variable: %w", err)
	}
	if len(b) == 0 {
		v.Unset = true
		return v, nil
	}
	if !o.NoClamp && len(b) > clamp {
		b = b[:clamp]
	}
	if o.Verbatim {
		if !o.NoChomp {
			b = bytes.TrimSuffix(b, []byte("\n"))
		}
	} else {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[:i]
		}
		if !o.NoChomp {
			b = bytes.TrimRight(b, " \t")
		}
	}
	null := o.NullIs
	if null == 0 {
		null = '\n'
	}
	v.Value = string(bytes.ReplaceAll(b, []byte{0}, []byte{null}))
	return v, nil
}

// Apply returns env ("K=V") with vars set or unset; env is not changed.
func Apply(env []string, vars []Var) []string {
	idx := map[string]int{}
	out := make([]string, 0, len(env)+len(vars))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	for _, v := range vars {
		i, ok := idx[v.Name]
		switch {
		case v.Unset && ok:
			out[i] = ""
		case v.Unset:
		case ok:
			out[i] = v.Name + "=" + v.Value
		default:
			idx[v.Name] = len(out)
			out = append(out, v.Name+"="+v.Value)
		}
	}
	kept := out[:0]
	for _, kv := range out {
		if kv != "" {
			kept = append(kept, kv)
		}
	}
	return kept
}

// Lookup reads one variable of the container environment in dir with the
// with-contenv rules; ok is false when the file is missing or empty.
func Lookup(dir, name string) (value string, ok bool) {
	if name == "" || strings.ContainsAny(name, "/=") || strings.HasPrefix(name, ".") {
		return "", false
	}
	v, err := ReadFile(filepath.Join(dir, name), ContEnv)
	if err != nil || v.Unset {
		return "", false
	}
	return v.Value, true
}
